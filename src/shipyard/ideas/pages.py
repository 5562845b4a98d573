"""Dashboard pages of idea runs (seed 002): the runs, newest first, under a form that submits an
idea; one run with its state chips, issue tree and timeline, which refresh while it goes on.
Plain HTML forms, like the work orders': a redirect on success, the same page with the reason
otherwise."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shipyard.api.errors import status_of
from shipyard.domain.errors import InvalidInput, NotFound, ShipyardError
from shipyard.domain.ideas import RunState
from shipyard.domain.jsontext import MAX_SQL_INT
from shipyard.ideas.models import IdeaRequest, IssueView, RunInterrupt, RunView
from shipyard.ideas.routes import IdeasDep, RunId
from shipyard.ideas.service import IdeaService
from shipyard.web.render import page

router = APIRouter(tags=["dashboard"], include_in_schema=False)
PAGE_SIZE = 25
SIZES = ("small", "medium", "large")
LIVE_EVERY_S = 2  # how often an open run page asks whether its run moved on
# Seed 002 §10's chips: the states a run goes through, as people name them.
CHIPS = (
    ("Spec", RunState.SPEC_WRITING), ("Plan", RunState.ISSUE_TREE), ("Build", RunState.EXECUTION_LOOP),
    ("QA", RunState.QA), ("Merge", RunState.MERGE), ("Release", RunState.RELEASE), ("Done", RunState.DONE),
)  # fmt: skip
# What the run page says after a control was accepted (`?done=`).
DONE = {
    "pause": "Pause requested: the run holds before its next work order.",
    "resume": "Resumed.",
    "cancel": "Cancel requested: the running work order is being stopped and the run ends.",
}
# The colour of a state or status: the work orders' badge it looks like.
_TONES = {
    "DONE": "completed", "FAILED": "failed", "CANCELLED": "cancelled", "BLOCKED": "paused",
    "IDEA_SUBMITTED": "waiting", "NEW": "waiting",
}  # fmt: skip
_FIELDS = {"ideaText": "idea", "repo": "repository", "options.size": "size", "reason": "reason"}


@dataclass(frozen=True)
class Chip:
    label: str
    state: str
    mark: str  # passed, skipped, current, failed, cancelled or ahead


def state_chips(run: RunView) -> list[Chip]:
    """The chips of the run's states: those before where it is passed (skipped when its timeline
    shows it never entered them), where it is current (failed or cancelled if it ended there)."""
    going = {state.value for state in RunState if not state.is_terminal}
    states = (e.data.get("state") for e in run.timeline if e.type == "run.state")
    entered = [state for state in states if state in going]
    reached = run.state
    if run.state in (RunState.FAILED, RunState.CANCELLED):
        reached = RunState(entered[-1]) if entered else RunState.IDEA_SUBMITTED
    order = list(RunState)
    chips = []
    for label, state in CHIPS:
        if state == reached:
            mark = {RunState.FAILED: "failed", RunState.CANCELLED: "cancelled"}.get(run.state, "current")
        elif order.index(state) < order.index(reached):
            mark = "skipped" if entered and state.value not in entered else "passed"
        else:
            mark = "ahead"
        chips.append(Chip(label, state.value, mark))
    return chips


def tone(status: str) -> str:
    """The badge colour of a run's state or an issue's status (working: `running`)."""
    return _TONES.get(status, "running")


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def link(url: str | None) -> str | None:
    """`url` if a browser may follow it from here (a web address or a path on this server)."""
    local = url is not None and url.startswith("/") and not url.startswith("//")
    return url if url and (local or url.startswith(("https://", "http://"))) else None


def version(run: RunView, tree: list[IssueView]) -> str:
    """A digest of the run and its tree as read: it changes whenever the page would."""
    shown = run.model_dump_json() + "".join(issue.model_dump_json() for issue in tree)
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    helpers = {"tone": tone, "first_line": first_line, "link": link}
    return page(request, name, status_code=status_code, **helpers, **context)


def _refusal(err: ValidationError) -> str:
    """The first problem pydantic found, named as the form names it."""
    problem = err.errors()[0]
    where = _FIELDS.get(".".join(str(p) for p in problem["loc"]), "")
    return f"{where}: {problem['msg']}" if where else problem["msg"]


async def _runs_context(ideas: IdeaService, page_no: int) -> dict[str, Any]:
    # IdeaService offers no list of runs yet; the store's page of them is read directly.
    runs, total = await ideas.runs(PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    return {"runs": runs, "total": total, "page_no": page_no, "pages": max(1, -(-total // PAGE_SIZE))}


@router.get("/ideas")
async def idea_runs(
    request: Request,
    ideas: IdeasDep,
    page_no: Annotated[int, Query(alias="page", ge=1, le=MAX_SQL_INT // PAGE_SIZE)] = 1,
) -> HTMLResponse:
    """The form to submit an idea, and every run, newest first, paged."""
    context = await _runs_context(ideas, page_no)
    return _page(request, "ideas.html", values={"size": "medium"}, error=None, sizes=SIZES, **context)


def _idea_request(values: dict[str, str]) -> IdeaRequest:
    if not values["idea_text"].strip():
        raise InvalidInput("Write the idea first.")
    if not values["repo"]:
        raise InvalidInput("Enter a repository: a local path or a URL.")
    fields = {"idea_text": values["idea_text"], "repo": values["repo"], "options": {"size": values["size"]}}
    try:
        return IdeaRequest.model_validate(fields)
    except ValidationError as err:
        raise InvalidInput(_refusal(err)) from None


@router.post("/ideas")
async def submit_idea(
    request: Request,
    ideas: IdeasDep,
    idea_text: Annotated[str, Form()] = "",
    repo: Annotated[str, Form()] = "",
    size: Annotated[str, Form()] = "medium",
) -> Response:
    """Start a run and show it; the form again, with the reason and all that was typed, if not."""
    values = {"idea_text": idea_text, "repo": repo.strip(), "size": size}
    try:
        run = await ideas.submit(_idea_request(values))
    except ShipyardError as err:
        context = await _runs_context(ideas, 1)
        return _page(
            request, "ideas.html", status_code=status_of(err), values=values, error=err.message,
            sizes=SIZES, **context,
        )  # fmt: skip
    return RedirectResponse(f"/ideas/{run.id}", status_code=303)


async def _run_context(ideas: IdeaService, run_id: str) -> dict[str, Any]:
    """Everything the run page shows."""
    run = await ideas.view(run_id)
    tree = await ideas.tree(run_id)
    return {
        "run": run, "tree": tree, "chips": state_chips(run), "live": not run.state.is_terminal,
        "version": version(run, tree), "every_s": LIVE_EVERY_S, "error": None, "done": None,
    }  # fmt: skip


@router.get("/ideas/{run_id}")
async def idea_run(request: Request, run_id: RunId, ideas: IdeasDep, done: str = "") -> HTMLResponse:
    """One run: its state chips, controls, issue tree and timeline."""
    context = await _run_context(ideas, run_id) | {"done": DONE.get(done)}
    return _page(request, "idea_run.html", **context)


@router.get("/ideas/{run_id}/live")
async def idea_run_live(
    request: Request,
    run_id: RunId,
    ideas: IdeasDep,
    seen: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The run page's changing part for htmx to swap in; 204 (nothing to swap) while it is still
    the one drawn as `seen`. Once the run has ended the part it answers polls no more."""
    context = await _run_context(ideas, run_id)
    if seen == context["version"]:
        return Response(status_code=204)
    return _page(request, "_idea_run.html", **context)


@router.post("/ideas/{run_id}/{action}")
async def control_run(
    request: Request, run_id: RunId, action: str, ideas: IdeasDep, reason: Annotated[str, Form()] = ""
) -> Response:
    """Pause, resume or cancel the run; back to its page, which says why when it could not."""
    try:
        if action not in DONE:
            raise NotFound(f"no action '{action}'; actions: {', '.join(DONE)}")
        try:
            req = RunInterrupt.model_validate({"action": action, "reason": reason.strip() or None})
        except ValidationError as err:
            raise InvalidInput(_refusal(err)) from None
        await ideas.interrupt(run_id, req)
    except ShipyardError as err:
        context = await _run_context(ideas, run_id) | {"error": err.message}
        return _page(request, "idea_run.html", status_code=status_of(err), **context)
    return RedirectResponse(f"/ideas/{run_id}?done={action}", status_code=303)
