"""Seed 002's endpoints for ideas and runs (§7.1): `POST /api/ideas`, `GET /api/runs/:runId`,
its issue tree, one issue, and interrupts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from shipyard.api.deps import ServiceDep
from shipyard.domain.jsontext import MAX_SQL_INT32
from shipyard.ideas.models import IdeaRequest, IssueView, Reorder, RunCreated, RunInterrupt, RunView
from shipyard.ideas.service import IdeaService

router = APIRouter(prefix="/api", tags=["ideas"])
RunId = Annotated[str, Path(pattern=r"^run-[0-9a-f]{8}$", description="`run-` and 8 hex characters")]


async def get_ideas(service: ServiceDep) -> IdeaService:
    return IdeaService(service)


IdeasDep = Annotated[IdeaService, Depends(get_ideas)]


@router.post("/ideas", status_code=201)
async def submit_idea(req: IdeaRequest, ideas: IdeasDep) -> RunCreated:
    """Start a run: the idea becomes a spec, an issue tree, a branch and pull request per issue,
    merged up into `integration` and released. Answers at once with the run's id."""
    run = await ideas.submit(req)
    return RunCreated(run_id=run.id)


@router.get("/runs/{run_id}")
async def get_run(run_id: RunId, ideas: IdeasDep) -> RunView:
    """The run's state, where it is, whether it is paused, and its timeline."""
    return await ideas.view(run_id)


@router.get("/runs/{run_id}/issues")
async def get_run_issues(run_id: RunId, ideas: IdeasDep) -> dict[str, list[IssueView]]:
    """The run's issue tree: the epic, its features and tasks, in the order they run."""
    return {"issues": await ideas.tree(run_id)}


@router.post("/runs/{run_id}/interrupt")
async def interrupt_run(run_id: RunId, req: RunInterrupt, ideas: IdeasDep) -> RunView:
    """`pause` holds the run before its next work order, `resume` goes on, `cancel` stops the
    running work order and ends the run."""
    await ideas.interrupt(run_id, req)
    return await ideas.view(run_id)


@router.post("/runs/{run_id}/retry/{issue_id}")
async def retry_run(
    run_id: RunId, issue_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT32)], ideas: IdeasDep
) -> RunView:
    """Run a failed or cancelled run again from the issue that stopped it: what is done stays
    done, completed work orders are kept, the issue's failed one runs again in place."""
    await ideas.retry(run_id, issue_id)
    return await ideas.view(run_id)


@router.post("/runs/{run_id}/advance")
async def advance_run(run_id: RunId, ideas: IdeasDep) -> RunView:
    """Let a held run go on when nothing blocks it; 409 saying what blocks it (an open defect)
    or that nothing holds it."""
    await ideas.advance(run_id)
    return await ideas.view(run_id)


@router.get("/issues/{issue_id}")
async def get_issue(issue_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT32)], ideas: IdeasDep) -> IssueView:
    """One issue with its children."""
    return await ideas.issue(issue_id)


@router.post("/issues/{issue_id}/reorder")
async def reorder_issue(
    issue_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT32)], req: Reorder, ideas: IdeasDep
) -> IssueView:
    """Set the order of the issue's children: `order` names each of them once."""
    return await ideas.reorder(issue_id, req.order)
