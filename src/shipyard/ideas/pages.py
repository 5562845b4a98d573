"""Dashboard pages of idea runs (seed 002 §10): the runs, newest first, under a form that submits
an idea; one run with its state chips, controls, issue tree and timeline, which refresh while it
goes on, and the chat beside it (run_pages.py, with the run's code tab). Plain HTML forms, like
the work orders': a redirect on success, the same page with the reason otherwise."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shipyard.agents.registry import describe_agents
from shipyard.api.errors import status_of
from shipyard.domain.errors import InvalidInput, NotFound, ShipyardError
from shipyard.domain.jsontext import MAX_SQL_INT, MAX_SQL_INT32
from shipyard.ideas import run_pages
from shipyard.ideas.models import AGENT_ROLES, IdeaRequest, RunInterrupt
from shipyard.ideas.page_kit import chat_context, refusal, render, run_context
from shipyard.ideas.routes import IdeasDep, RunId
from shipyard.ideas.service import IdeaService

router = APIRouter(tags=["dashboard"], include_in_schema=False)
router.include_router(run_pages.router)  # before `/ideas/{run_id}/{action}` below, which would take its paths
PAGE_SIZE = 25
SIZES = ("small", "medium", "large")
# What the run page says after a control was accepted (`?done=`).
DONE = {
    "pause": "Pause requested: the run holds before its next work order.",
    "resume": "Resumed.",
    "cancel": "Cancel requested: the running work order is being stopped and the run ends.",
    "advance": "Advanced: nothing blocks the run; it goes on.",
    "retry": "Retrying: the run walks its tree again from the issue; what is done stays done.",
}
ACTIONS = ("pause", "resume", "cancel", "advance")


async def _runs_context(ideas: IdeaService, page_no: int) -> dict[str, Any]:
    runs, total = await ideas.runs(PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    return {"runs": runs, "total": total, "page_no": page_no, "pages": max(1, -(-total // PAGE_SIZE))}


async def _form_context(ideas: IdeaService, values: dict[str, Any], page_no: int = 1) -> dict[str, Any]:
    """The form, its choices (agents probe the machine: off the event loop), and a page of runs."""
    agents = await asyncio.to_thread(describe_agents, ideas.settings)
    defaults = {"size": "medium", "dry_run": False, "agents": {}}
    return {
        "values": defaults | values, "sizes": SIZES, "roles": AGENT_ROLES, "agent_choices": agents,
        "error": None, **await _runs_context(ideas, page_no),
    }  # fmt: skip


@router.get("/ideas")
async def idea_runs(
    request: Request,
    ideas: IdeasDep,
    page_no: Annotated[int, Query(alias="page", ge=1, le=MAX_SQL_INT // PAGE_SIZE)] = 1,
) -> HTMLResponse:
    """The form to submit an idea, and every run, newest first, paged."""
    context = await _form_context(ideas, {}, page_no)
    return render(request, "ideas.html", **context)


def _idea_request(values: dict[str, Any]) -> IdeaRequest:
    if not values["idea_text"].strip():
        raise InvalidInput("Write the idea first.")
    if not values["repo"]:
        raise InvalidInput("Enter a repository: a local path or a URL.")
    options = {"size": values["size"], "dry_run": values["dry_run"], "agents": values["agents"]}
    fields = {"idea_text": values["idea_text"], "repo": values["repo"], "options": options}
    try:
        return IdeaRequest.model_validate(fields)
    except ValidationError as err:
        raise InvalidInput(refusal(err)) from None


@router.post("/ideas")
async def submit_idea(
    request: Request,
    ideas: IdeasDep,
    idea_text: Annotated[str, Form()] = "",
    repo: Annotated[str, Form()] = "",
    size: Annotated[str, Form()] = "medium",
    dry_run: Annotated[str, Form()] = "",
) -> Response:
    """Start a run and show it; the form again, with the reason and all that was typed, if not.
    Each role's agent comes as `agent_<role>` (empty: the default)."""
    form = await request.form()
    agents = {role: str(form.get(f"agent_{role}") or "") for role in AGENT_ROLES}
    values = {
        "idea_text": idea_text, "repo": repo.strip(), "size": size, "dry_run": bool(dry_run),
        "agents": {role: name for role, name in agents.items() if name},
    }  # fmt: skip
    try:
        run = await ideas.submit(_idea_request(values))
    except ShipyardError as err:
        context = await _form_context(ideas, values) | {"error": err.message}
        return render(request, "ideas.html", status_code=status_of(err), **context)
    return RedirectResponse(f"/ideas/{run.id}", status_code=303)


async def _page_context(ideas: IdeaService, run_id: str) -> dict[str, Any]:
    """The run's page: the run, and the chat beside it."""
    return await run_context(ideas, run_id) | await chat_context(ideas, run_id)


@router.get("/ideas/{run_id}")
async def idea_run(request: Request, run_id: RunId, ideas: IdeasDep, done: str = "") -> HTMLResponse:
    """One run: its state chips, controls, issue tree and timeline, and the chat beside it."""
    context = await _page_context(ideas, run_id) | {"done": DONE.get(done)}
    return render(request, "idea_run.html", **context)


@router.get("/ideas/{run_id}/live")
async def idea_run_live(
    request: Request,
    run_id: RunId,
    ideas: IdeasDep,
    seen: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The run page's changing part for htmx to swap in; 204 (nothing to swap) while it is still
    the one drawn as `seen`. Once the run has ended the part it answers polls no more."""
    context = await run_context(ideas, run_id)
    if seen == context["version"]:
        return Response(status_code=204)
    return render(request, "_idea_run.html", **context)


async def _refused(request: Request, ideas: IdeaService, run_id: str, err: ShipyardError) -> HTMLResponse:
    context = await _page_context(ideas, run_id) | {"error": err.message}
    return render(request, "idea_run.html", status_code=status_of(err), **context)


@router.post("/ideas/{run_id}/retry/{issue_id}")
async def retry_from(
    request: Request, run_id: RunId, issue_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT32)], ideas: IdeasDep
) -> Response:
    """Run a failed or cancelled run again from the issue; back to its page, which says why not."""
    try:
        await ideas.retry(run_id, issue_id)
    except ShipyardError as err:
        return await _refused(request, ideas, run_id, err)
    return RedirectResponse(f"/ideas/{run_id}?done=retry", status_code=303)


@router.post("/ideas/{run_id}/{action}")
async def control_run(
    request: Request, run_id: RunId, action: str, ideas: IdeasDep, reason: Annotated[str, Form()] = ""
) -> Response:
    """Pause, resume, cancel or advance the run; back to its page, which says why when it could not."""
    try:
        if action not in ACTIONS:
            raise NotFound(f"no action '{action}'; actions: {', '.join(ACTIONS)}")
        if action == "advance":
            await ideas.advance(run_id)
        else:
            try:
                req = RunInterrupt.model_validate({"action": action, "reason": reason.strip() or None})
            except ValidationError as err:
                raise InvalidInput(refusal(err)) from None
            await ideas.interrupt(run_id, req)
    except ShipyardError as err:
        return await _refused(request, ideas, run_id, err)
    return RedirectResponse(f"/ideas/{run_id}?done={action}", status_code=303)
