"""A run page's chat and its code tab. The chat's form posts without JavaScript (back to the run
page) and with htmx (the chat redrawn, the run's part asked to refresh); its messages refresh
while the run goes on. The code tab: the repository's branches, the pull requests with their CI
status (where the forge has CI), and a merge button for each one open and ready."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from shipyard.api.errors import status_of
from shipyard.api.events import HubDep, sse_response
from shipyard.api.reports import artifact_response
from shipyard.domain.errors import InvalidInput, NotFound, ShipyardError
from shipyard.domain.jsontext import MAX_SQL_INT, MAX_SQL_INT32
from shipyard.forge.base import PullRequestInfo
from shipyard.forge.models import IssueComment
from shipyard.forge.registry import forge_for
from shipyard.ideas.chat import ChatSend, ChatService
from shipyard.ideas.code import CodeService, ci_summary
from shipyard.ideas.models import IssueView
from shipyard.ideas.page_kit import chat_context, refusal, render, run_context
from shipyard.ideas.routes import IdeasDep, RunId
from shipyard.ideas.service import IdeaService
from shipyard.ideas.stream import FeedDep, run_stream
from shipyard.web.render import is_htmx

router = APIRouter(tags=["dashboard"], include_in_schema=False)
PrNumber = Annotated[int, Path(ge=1, le=MAX_SQL_INT32)]
RUN_CHANGED = "run-changed"  # the event a chat answer triggers: the run's part refreshes at once


@router.get("/ideas/{run_id}/events")
async def run_events(
    run_id: RunId,
    ideas: IdeasDep,
    feed: FeedDep,
    hub: HubDep,
    after: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> StreamingResponse:
    """What the run page listens to (htmx's SSE extension): `changed` whenever the run's timeline
    grows, `end` after its last event; the page asks for its changing part again on each."""
    await feed.require(run_id)
    frames = run_stream(feed, hub, run_id, after, ideas.settings.sse_heartbeat_s)
    return sse_response(_page_frames(frames))


async def _page_frames(frames: AsyncIterator[str]) -> AsyncIterator[str]:
    async for frame in frames:
        yield frame if frame.startswith(":") else "event: changed\ndata: {}\n\n"
    yield "event: end\ndata: {}\n\n"


@router.get("/ideas/{run_id}/chat")
async def chat_log(
    request: Request, run_id: RunId, ideas: IdeasDep, seen: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """The chat's messages for htmx to swap in; 204 while they are the ones drawn as `seen`."""
    context = await chat_context(ideas, run_id)
    if seen == context["chat_seen"]:
        return Response(status_code=204)
    return render(request, "_chat_log.html", **context)


@router.post("/ideas/{run_id}/chat")
async def send_chat(
    request: Request, run_id: RunId, ideas: IdeasDep, text: Annotated[str, Form()] = ""
) -> Response:
    """Send a message or a /command. Without JavaScript: back to the run page (which says why,
    keeping the text, when it was refused). With htmx: the chat redrawn."""
    error, status = None, 200
    try:
        try:
            req = ChatSend.model_validate({"text": text})
        except ValidationError as err:
            raise InvalidInput(refusal(err)) from None
        await ChatService(ideas).send(run_id, req)
    except ShipyardError as err:
        error, status = err.message, status_of(err)
        if status == 404:
            raise
    if is_htmx(request):
        context = await chat_context(ideas, run_id, text if error else "", error) | {"chat_focus": True}
        # htmx swaps only a 2xx answer: a refusal comes back as one, saying why in the chat.
        answer = render(request, "_run_chat.html", **context)
        answer.headers["HX-Trigger"] = RUN_CHANGED
        return answer
    if error is None:
        return RedirectResponse(f"/ideas/{run_id}#chat", status_code=303)
    context = await run_context(ideas, run_id) | await chat_context(ideas, run_id, text, error)
    return render(request, "idea_run.html", status_code=status, **context)


IssueId = Annotated[int, Path(ge=1, le=MAX_SQL_INT32)]
WorkOrderId = Annotated[str, Path(pattern=r"^wo-[0-9a-z]{8}$")]


@router.get("/ideas/{run_id}/issues/{issue_id}/conversation")
async def conversation(request: Request, run_id: RunId, issue_id: IssueId, ideas: IdeasDep) -> HTMLResponse:
    """The comments on an issue's forge issue and on its pull request, for its node in the tree
    (asked for as the node opens: each is a call to the forge)."""
    run = await ideas.get(run_id)
    issue = await ideas.store.get_issue(issue_id)
    if issue.run_id != run.id:
        raise NotFound(f"issue {issue_id} is not an issue of run {run_id}")
    forge = forge_for(run.forge, ideas.settings, run.repository_url, ideas.store)
    found: list[tuple[str, IssueComment]] = []
    problem = None
    try:
        for what, number in (("issue", issue.forge_issue_number), ("pull request", issue.pr_number)):
            if number:
                found += [(f"{what} #{number}", c) for c in await forge.list_comments(number)]
    except ShipyardError as err:
        problem = err.message
    return render(request, "_conversation.html", comments=found, problem=problem, forge=run.forge)


@router.get("/ideas/{run_id}/work/{work_order_id}/artifacts")
async def artifacts(
    request: Request, run_id: RunId, work_order_id: WorkOrderId, ideas: IdeasDep
) -> HTMLResponse:
    """What a work order of the run uploaded (`shipyard report artifact`), for its timeline entry."""
    await _run_work_order(ideas, run_id, work_order_id)
    found = await ideas.store.list_artifacts(work_order_id)
    return render(request, "_artifacts.html", artifacts=found, work_order_id=work_order_id, run_id=run_id)


@router.get("/ideas/{run_id}/work/{work_order_id}/artifacts/{name:path}")
async def artifact(run_id: RunId, work_order_id: WorkOrderId, name: str, ideas: IdeasDep) -> Response:
    """One of them, as a download (the dashboard's sign-in guards it, not the API token)."""
    await _run_work_order(ideas, run_id, work_order_id)
    return artifact_response(*await ideas.service.read_artifact(work_order_id, name))


async def _run_work_order(ideas: IdeaService, run_id: str, work_order_id: str) -> None:
    """NotFound unless the work order is one of the run's."""
    run = await ideas.get(run_id)
    wo = await ideas.store.get_work_order(work_order_id)
    if (wo.trigger or {}).get("run") != run.id:
        raise NotFound(f"work order {work_order_id} is not one of run {run_id}")


@dataclass(frozen=True)
class Pull:
    """A pull request on the code tab, with what its CI says."""

    info: PullRequestInfo
    ci: str | None  # pending, passing, failing; None: no checks
    ci_error: str | None = None  # why the forge could not say


async def _pulls(code: CodeService, ideas: IdeaService, run_id: str) -> list[Pull]:
    run = await ideas.get(run_id)
    pulls = []
    for info in await code.prs(run, "all"):
        ci, problem = None, None
        if info.state == "open":
            try:
                ci = ci_summary(await code.checks(run, info.head_branch))
            except ShipyardError as err:
                problem = err.message
        pulls.append(Pull(info, ci, problem))
    return pulls


async def _code_context(ideas: IdeaService, run_id: str) -> dict[str, Any]:
    """The run's head, and its repository's branches and pull requests (or why not)."""
    context = await run_context(ideas, run_id) | {"tab": "code", "branches": [], "pulls": []}
    code = CodeService(ideas.service)
    mine = _branches(context["tree"])
    try:
        run = await ideas.get(run_id)
        branches = await code.branches(run)
        context["branches"] = sorted(branches, key=lambda b: (b.name not in mine, b.name))
        context["pulls"] = await _pulls(code, ideas, run_id)
    except ShipyardError as err:
        context["error"] = f"The forge did not answer: {err.message}"
    return context | {"mine": mine}


def _branches(tree: list[IssueView]) -> set[str]:
    """The branches of the run's issues."""
    found = set()
    todo = list(tree)
    while todo:
        issue = todo.pop()
        todo.extend(issue.children)
        if issue.branch:
            found.add(issue.branch)
    return found


@router.get("/ideas/{run_id}/code")
async def run_code(
    request: Request,
    run_id: RunId,
    ideas: IdeasDep,
    merged: Annotated[int | None, Query(ge=1, le=MAX_SQL_INT32)] = None,
) -> HTMLResponse:
    """The run's code tab: its repository's branches (the run's own first) and pull requests."""
    context = await _code_context(ideas, run_id)
    done = f"Merged pull request #{merged}." if merged else None
    return render(request, "idea_code.html", **context | {"done": done})


@router.post("/ideas/{run_id}/code/merge/{pr_number}")
async def merge_pull(request: Request, run_id: RunId, pr_number: PrNumber, ideas: IdeasDep) -> Response:
    """Merge the pull request into its base; the code tab again, saying why when it could not."""
    try:
        run = await ideas.get(run_id)
        await CodeService(ideas.service).merge(run, pr_number, "merge")
    except ShipyardError as err:
        context = await _code_context(ideas, run_id) | {"error": err.message}
        return render(request, "idea_code.html", status_code=status_of(err), **context)
    return RedirectResponse(f"/ideas/{run_id}/code?merged={pr_number}", status_code=303)
