"""A run's work in a repository's own GitHub Actions (seed 002 §1.2, §5, §9): the workflow files
`shipyard actions init` writes (rendered from actions/*.j2), and `POST /api/runs/:runId/status`,
where those workflows report back with seed 002's `orchestrator.status`.

The reusable workflows sit at the top of `.github/workflows/`, named `_reusable.<name>.yml`, not
in the `_reusable/` folder seed 002 §5 draws: GitHub refuses a reusable workflow in a
subdirectory ("references to workflows must be rooted in '.github/workflows'").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

from shipyard.api.deps import ServiceDep
from shipyard.config import Settings
from shipyard.domain.errors import Conflict, InvalidInput, NotFound
from shipyard.domain.models import RequestModel
from shipyard.gitutil.run import run_git
from shipyard.ideas.models import TimelineEntry
from shipyard.service.dispatch import hear_report
from shipyard.service.requests import exists
from shipyard.store.records import IdeaRunRecord, RunEventRecord
from shipyard.store.store import Store

WORKFLOWS_DIR = Path(".github/workflows")
STATUS_EVENT = "orchestrator.status"
# A dispatch from Shipyard carries `dispatch_id` (service/dispatch.py); one sent by hand may not,
# and then the workflow run's attempt stands in for it.
_DISPATCH_ID = (
    "${{ github.event.client_payload.dispatch_id || github.event.client_payload.dispatchId"
    " || format('gh-{0}-{1}', github.run_id, github.run_attempt) }}"
)
_FINAL_STATE = (
    "${{ job.status == 'success' && 'SUCCEEDED' || job.status == 'cancelled' && 'CANCELLED' || 'FAILED' }}"
)
_FINAL_PROGRESS = "${{ job.status == 'success' && '1' || '' }}"


@dataclass(frozen=True)
class Reusable:
    """One reusable workflow: the dispatches that run it, the phase it reports, what its token may do."""

    name: str
    job: str  # its job in orchestrator.yml
    phase: str  # seed 002 §1.2's state of a run doing this work
    what: str
    work: str  # what the team's step does, for its comment
    types: tuple[str, ...]  # repository_dispatch types (seed 002 §6.2) routed to it
    permissions: tuple[tuple[str, str], ...]

    @property
    def file(self) -> str:
        return f"_reusable.{self.name}.yml"

    @property
    def condition(self) -> str:
        return " || ".join(f"github.event.action == '{type}'" for type in self.types)


REUSABLES = (
    Reusable(
        "ai.spec", "spec", "SPEC_WRITING", "drafts the product spec from the idea.",
        "write the spec of the idea in PARAMS, commit it, push the branch",
        ("ai.spec.request",), (("contents", "write"),),
    ),
    Reusable(
        "ai.plan", "plan", "ISSUE_TREE", "decomposes the spec into an ordered issue tree.",
        "read the spec, plan epics, features and tasks with acceptance criteria, file them as issues",
        ("ai.plan.request",), (("contents", "read"), ("issues", "write")),
    ),
    Reusable(
        "agent.execute", "execute", "EXECUTION_LOOP", "implements one issue on its branch.",
        "run your coding agent on the issue, commit, push the branch, update its pull request",
        ("agent.execute.request", "agent.cursor.execute.request"),
        (("contents", "write"), ("pull-requests", "write")),
    ),
    Reusable(
        "qa.run", "qa", "QA", "runs the tests and checks the coverage gates.",
        "build, run unit, integration and end-to-end tests, write their counts as metrics",
        ("qa.run.request",), (("contents", "read"),),
    ),
    Reusable(
        "merge.gate", "merge", "MERGE", "merges a branch once its children and required checks pass.",
        "check that the required checks passed and merge the pull request",
        ("merge.gate.request",),
        (("contents", "write"), ("pull-requests", "write"), ("checks", "read"), ("statuses", "read")),
    ),
    Reusable(
        "release.notes", "release", "RELEASE", "writes the release notes and the release.",
        "write the notes from the merged pull requests, tag and publish the release",
        ("release.notes.request",), (("contents", "write"),),
    ),
)  # fmt: skip


def render_workflows() -> dict[Path, str]:
    """Each workflow file, by its path in the repository."""
    env = Environment(
        loader=PackageLoader("shipyard.ideas", "actions"),
        # GitHub's `${{ }}` passes through untouched: our own marks are [[ ]] and [% %].
        variable_start_string="[[", variable_end_string="]]",
        block_start_string="[%", block_end_string="%]",
        comment_start_string="[#", comment_end_string="#]",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=StrictUndefined, autoescape=False,
    )  # fmt: skip
    common = {"dispatch_id": _DISPATCH_ID, "final_state": _FINAL_STATE, "final_progress": _FINAL_PROGRESS}
    orchestrator = env.get_template("orchestrator.yml.j2").render(workflows=REUSABLES, **common)
    files = {WORKFLOWS_DIR / "orchestrator.yml": orchestrator}
    reusable = env.get_template("reusable.yml.j2")
    for w in REUSABLES:
        files[WORKFLOWS_DIR / w.file] = reusable.render(w=w, **common)
    return files


async def install_workflows(path: Path, *, force: bool = False) -> list[Path]:
    """Write the workflows into the repository whose working tree holds `path` (at its top, where
    GitHub reads them); the files written. InvalidInput when `path` is in no working tree;
    Conflict naming the files there already, unless `force`."""
    top = await _work_tree_top(path)
    files = {top / rel: text for rel, text in render_workflows().items()}
    there = [str(file) for file in files if file.exists()]
    if there and not force:
        raise Conflict(f"{len(there)} of the files exist already: {', '.join(there)}")
    for file, text in files.items():
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    return list(files)


async def _work_tree_top(path: Path) -> Path:
    if not (exists(path) and path.is_dir()):
        raise InvalidInput(f"{path} is not a directory")
    probe = await run_git("rev-parse", "--show-toplevel", cwd=path)
    top = probe.stdout.strip()
    if not probe.ok or not top:
        raise InvalidInput(f"{path.resolve()} is not in a git repository's working tree")
    return Path(top)


# -- the status callback -------------------------------------------------------------------------

StatusState = Literal["QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELLED"]
_LEVELS = {"FAILED": "error", "CANCELLED": "warning"}


class OrchestratorStatus(RequestModel):
    """`POST /api/runs/:runId/status`: seed 002 §9.2's `orchestrator.status`, with the dispatch's
    `dispatchId` as its idempotency key."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    run_id: str = Field(min_length=1, max_length=100)
    node_id: str = Field(default="", max_length=200, description="The issue worked on; empty: the run.")
    phase: str = Field(min_length=1, max_length=100)
    state: StatusState
    progress: float | None = Field(default=None, ge=0, le=1)
    metrics: dict[str, JsonValue] = Field(default_factory=dict, max_length=100)
    artifacts: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=100
    )
    dispatch_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,100}$")


class StatusAccepted(BaseModel):
    """The answer to a report: its entry on the run's timeline, and the work order waiting on it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    duplicate: bool = Field(description="Whether this dispatchId and state had been reported before.")
    entry: TimelineEntry | None = Field(
        description="The report on the idea run's timeline, new or recorded before; null when `runId` "
        "names a work order, not an idea run."
    )
    work_order_id: str | None = Field(
        description="The work order whose `actions` step sent the dispatch (it hears the report), if one did."
    )


class StatusLog:
    """The reports of the workflows that dispatches started: on an idea run's timeline, and to the
    work order whose `actions` step waits on its dispatch."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    async def record(self, run_id: str, status: OrchestratorStatus) -> StatusAccepted:
        """Keep the report, once per dispatchId and state: on the run's timeline when `run_id` is an
        idea run, on the dispatch when a work order sent it (which then hears it). InvalidInput for
        a report of another run, NotFound when `run_id` names neither a run nor that work order."""
        if status.run_id != run_id:
            raise InvalidInput(f"runId '{status.run_id}' is not the run of the path, '{run_id}'")
        report = status.model_dump(mode="json", by_alias=True, exclude={"run_id", "dispatch_id"})
        wo, new = await hear_report(self.settings, self.store, status.dispatch_id, report, run_id)
        run = await self._run(run_id)
        if run is None and wo is None:
            sent = f"no work order of that id sent dispatch '{status.dispatch_id}'"
            raise NotFound(f"no run '{run_id}', and {sent}")
        fresh = [new] if wo is not None else []
        entry = None
        if run is not None:
            event, duplicate = await self._on_timeline(run_id, status)
            entry = TimelineEntry.of(event)
            fresh.append(not duplicate)
        return StatusAccepted(duplicate=not any(fresh), entry=entry, work_order_id=wo.id if wo else None)

    async def _run(self, run_id: str) -> IdeaRunRecord | None:
        if not run_id.startswith("run-"):
            return None
        try:
            return await self.store.get_run(run_id)
        except NotFound:
            return None

    async def _on_timeline(self, run_id: str, status: OrchestratorStatus) -> tuple[RunEventRecord, bool]:
        """The report on the run's timeline unless its dispatchId and state are there already; (its
        event, whether it was)."""
        earlier = await self._earlier(run_id, status)
        if earlier is not None:
            return earlier, True
        where = status.node_id or "run"
        done = f" {status.progress:.0%}" if status.progress is not None else ""
        event = await self.store.add_run_event(
            run_id, STATUS_EVENT, phase=status.phase, msg=f"{where}: {status.phase} {status.state}{done}",
            level=_LEVELS.get(status.state, "info"), data=status.model_dump(mode="json", by_alias=True),
        )  # fmt: skip
        return event, False

    async def _earlier(self, run_id: str, status: OrchestratorStatus) -> RunEventRecord | None:
        """The run's report of the same dispatchId and state, if any."""
        after = 0
        while batch := await self.store.list_run_events(run_id, after_id=after):
            for event in batch:
                key = (event.type, event.data.get("dispatchId"), event.data.get("state"))
                if key == (STATUS_EVENT, status.dispatch_id, status.state):
                    return event
            after = batch[-1].id
        return None


async def get_status_log(service: ServiceDep) -> StatusLog:
    return StatusLog(service.settings, service.store)


router = APIRouter(prefix="/api", tags=["ideas"])
ReporterId = Annotated[
    str,
    PathParam(
        pattern=r"^(run-[0-9a-f]{8}|wo-[0-9a-z]{8})$",
        description="The idea run, or the work order whose `actions` step sent the dispatch",
    ),
]


@router.post("/runs/{run_id}/status", status_code=202)
async def report_status(
    run_id: ReporterId, status: OrchestratorStatus, log: Annotated[StatusLog, Depends(get_status_log)]
) -> StatusAccepted:
    """Where the workflows Shipyard dispatched to GitHub Actions report (`orchestrator.status`):
    recorded once per dispatchId and state, on the idea run's timeline (a FAILED one as an error)
    and, when a work order's `actions` step sent the dispatch, as its `actions.status` event; the
    step ends on SUCCEEDED, FAILED or CANCELLED."""
    return await log.record(run_id, status)
