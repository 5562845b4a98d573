"""Seed 002's code module (§7.1): a project's branches and pull requests through its forge, the
issue hierarchy of its idea runs, defects filed by hand under their issues, and a code run (an
idea run on the project's repository). Every route is under `/api/projects/:id`."""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from shipyard.api.deps import ServiceDep
from shipyard.api.projects import ProjectDep
from shipyard.domain.errors import Conflict, ForgeError, InvalidInput, NotFound, ShipyardError
from shipyard.domain.ideas import IssueStatus, IssueType
from shipyard.domain.jsontext import MAX_SQL_INT32
from shipyard.domain.models import RequestModel
from shipyard.forge.base import (
    BranchRef,
    CheckRun,
    Forge,
    MergeMethod,
    MergeResult,
    PullRequestInfo,
    PullState,
)
from shipyard.forge.registry import forge_for
from shipyard.gitutil import is_branch_name
from shipyard.ideas import mirror
from shipyard.ideas.models import IdeaOptions, IdeaRequest, IssueView, RunCreated, _Camel
from shipyard.ideas.service import IdeaService
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import IdeaRunRecord, IssueNodeRecord, PlannedIssue, ProjectRecord

router = APIRouter(prefix="/api/projects/{id_or_name}", tags=["code"])
PrNumber = Annotated[int, Path(ge=1, le=MAX_SQL_INT32, description="The pull request's number")]
IssueId = Annotated[int, Path(ge=1, le=MAX_SQL_INT32, description="The issue's id (an idea run's)")]
BY_HAND = "filed-by-hand"  # the label of a defect a person filed (QA's carry `qa-round-N`)


class BranchCreate(RequestModel, _Camel):
    branch_name: str = Field(min_length=1, max_length=255)
    base_branch: str = Field(min_length=1, max_length=255)


class BranchView(_Camel):
    name: str
    sha: str


class BranchList(_Camel):
    branches: list[BranchView]


class PullCreate(RequestModel, _Camel):
    branch: str = Field(min_length=1, max_length=255, description="The head branch, with the changes.")
    base: str = Field(min_length=1, max_length=255, description="The branch it merges into.")
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(default="", max_length=65_536)


class PullView(_Camel):
    number: int
    title: str
    body: str
    head: str
    base: str
    state: str  # open | closed | merged
    draft: bool
    url: str

    @classmethod
    def of(cls, pull: PullRequestInfo) -> PullView:
        return cls(
            number=pull.number, title=pull.title, body=pull.body, head=pull.head_branch,
            base=pull.base_branch, state=pull.state, draft=pull.draft, url=pull.url,
        )  # fmt: skip


class PullList(_Camel):
    pull_requests: list[PullView]


class MergeRequest(RequestModel, _Camel):
    method: MergeMethod = "merge"


class MergeView(_Camel):
    number: int
    sha: str  # the commit the base branch points at now


class IssueHierarchy(_Camel):
    run_id: str
    ancestor_ids: list[int]  # the root (the epic) first, the issue's parent last
    issue: IssueView  # with its descendants


class DefectCreate(RequestModel, _Camel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20_000)


class CodeRequest(RequestModel, _Camel):
    description: str = Field(min_length=1, max_length=20_000, description="The change, as an idea.")
    size: Literal["small", "medium", "large"] = "medium"


class Hosted(Protocol):
    """A repository on a forge: a project's, or an idea run's."""

    @property
    def forge(self) -> str: ...

    @property
    def repository_url(self) -> str: ...


def ci_summary(checks: list[CheckRun]) -> str | None:
    """`pending` while a check runs, `passing` when all passed (or were neutral or skipped),
    `failing` otherwise; None without checks."""
    if not checks:
        return None
    if any(check.status != "completed" for check in checks):
        return "pending"
    fine = all(check.conclusion in ("success", "neutral", "skipped") for check in checks)
    return "passing" if fine else "failing"


class CodeService:
    """The code module over the work-order service: its settings, store and Temporal client."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings

    def forge(self, where: Hosted) -> Forge:
        return forge_for(where.forge, self.settings, where.repository_url, self.store)

    async def branches(self, where: Hosted) -> list[BranchRef]:
        return await self.forge(where).list_branches()

    async def create_branch(self, project: ProjectRecord, req: BranchCreate) -> BranchRef:
        """A new branch at `baseBranch`'s tip; InvalidInput for a bad name or an unknown base,
        Conflict for a name that is taken."""
        if not await is_branch_name(req.branch_name):
            raise InvalidInput(f"branchName: {req.branch_name!r} is not a valid branch name")
        forge = self.forge(project)
        known = {branch.name for branch in await forge.list_branches()}
        if req.base_branch not in known:
            raise InvalidInput(f"baseBranch: {project.repository_url} has no branch {req.base_branch}")
        if req.branch_name in known:
            raise Conflict(f"branch {req.branch_name} already exists in {project.repository_url}")
        return await forge.create_branch(req.branch_name, req.base_branch)

    async def prs(self, where: Hosted, state: PullState) -> list[PullRequestInfo]:
        return await self.forge(where).list_prs(state)

    async def checks(self, where: Hosted, ref: str) -> list[CheckRun]:
        """The CI check runs on the commit `ref` (a branch: its tip) points at; none on a forge
        without CI."""
        return await self.forge(where).list_check_runs(ref)

    async def open_pr(self, project: ProjectRecord, req: PullCreate) -> PullRequestInfo:
        """A pull request from `branch` into `base`; Conflict naming the one open between them."""
        forge = self.forge(project)
        taken = await forge.find_pr(req.branch)
        if taken is not None and taken.base_branch == req.base:
            raise Conflict(
                f"{req.branch} has an open pull request into {req.base}: #{taken.number} ({taken.url})"
            )
        return await forge.open_pr(req.branch, req.base, req.title, req.body)

    async def pr(self, where: Hosted, number: int) -> PullRequestInfo:
        try:
            return await self.forge(where).get_pr(number)
        except ForgeError as err:
            raise _in_api_terms(err) from None

    async def merge(self, where: Hosted, number: int, method: MergeMethod) -> MergeResult:
        """Merge the open pull request into its base; Conflict saying why it cannot be."""
        pull = await self.pr(where, number)
        if pull.state != "open":
            raise Conflict(f"pull request #{number} is {pull.state}: nothing to merge")
        if pull.draft:
            raise Conflict(f"pull request #{number} is a draft: it is merged once it is ready for review")
        try:
            return await self.forge(where).merge_pr(number, method)
        except ForgeError as err:
            raise _in_api_terms(err) from None

    async def hierarchy(self, project: ProjectRecord, issue_id: int) -> IssueHierarchy:
        """The issue with its descendants, and the ids of its ancestors."""
        issue, run = await self._issue_of(project, issue_id)
        parents = {i.id: i.parent_id for i in await self.store.list_issues(run.id)}
        ancestors, above = [], issue.parent_id
        while above is not None:
            ancestors.append(above)
            above = parents[above]
        view = await IdeaService(self.service).issue(issue.id)
        return IssueHierarchy(run_id=run.id, ancestor_ids=ancestors[::-1], issue=view)

    async def file_defect(self, project: ProjectRecord, issue_id: int, req: DefectCreate) -> IssueNodeRecord:
        """A defect under the issue, after its children: the issue's merge waits until it is done."""
        issue, run = await self._issue_of(project, issue_id)
        if issue.type == IssueType.DEFECT:
            raise InvalidInput(f"#{issue.id} is a defect: file a defect under the issue it was found in")
        if issue.status == IssueStatus.DONE:
            raise InvalidInput(f"#{issue.id} is done (merged): a defect is filed under an issue still open")
        children = await self.store.children_of(issue.id)
        order = max((child.order_index for child in children), default=-1) + 1
        planned = PlannedIssue(type=IssueType.DEFECT, title=req.title, body=req.body, labels=[BY_HAND])
        defect = await self.store.create_issue(run.id, planned, issue.id, order)
        level, said = "info", f"defect #{defect.id} filed by hand under #{issue.id}: {defect.title}"
        try:
            defect = await mirror.sync_issue(self._run_forge(run), self.store, run, defect)
        except ForgeError as err:  # filed all the same; the mirror follows at its next change
            level, said = "warning", f"{said} (not mirrored on the forge: {err.message})"
        data = {"issue_id": defect.id, "type": defect.type.value, "status": defect.status.value}
        await self.store.add_run_event(
            run.id, "issue.updated", phase=run.state.value, msg=said, level=level, data=data
        )
        return defect

    async def start(self, project: ProjectRecord, req: CodeRequest) -> IdeaRunRecord:
        """An idea run on the project's repository, with its agents, sandbox and forge."""
        idea = IdeaRequest(
            idea_text=req.description, repo=project.repository_url, project=project.id,
            options=IdeaOptions(size=req.size),
        )  # fmt: skip
        return await IdeaService(self.service).submit(idea)

    async def _issue_of(self, project: ProjectRecord, issue_id: int) -> tuple[IssueNodeRecord, IdeaRunRecord]:
        """The issue and its run; NotFound unless the run is the project's."""
        issue = await self.store.get_issue(issue_id)
        run = await self.store.get_run(issue.run_id)
        if run.project_id != project.id:
            raise NotFound(f"issue {issue_id} is not in a run of project '{project.name}'")
        return issue, run

    def _run_forge(self, run: IdeaRunRecord) -> Forge:
        return forge_for(run.forge, self.settings, run.repository_url, self.store)


def _in_api_terms(err: ForgeError) -> ShipyardError:
    """A forge's refusal about a pull request of a repository the project reaches: a 404 is a pull
    request that is not there (the status is read off GitHubFailed without importing it, which
    would load githubkit)."""
    return NotFound(err.message) if getattr(err, "status", None) == 404 else err


async def get_code(service: ServiceDep) -> CodeService:
    return CodeService(service)


CodeDep = Annotated[CodeService, Depends(get_code)]


@router.get("/branches")
async def list_branches(project: ProjectDep, code: CodeDep) -> BranchList:
    """The repository's branches and the commit each points at, by name."""
    branches = await code.branches(project)
    return BranchList(branches=[BranchView(name=b.name, sha=b.sha) for b in branches])


@router.post("/branches", status_code=201)
async def create_branch(req: BranchCreate, project: ProjectDep, code: CodeDep) -> BranchView:
    """A new branch at the tip of `baseBranch`; 409 when `branchName` is taken."""
    made = await code.create_branch(project, req)
    return BranchView(name=made.name, sha=made.sha)


@router.get("/prs")
async def list_prs(project: ProjectDep, code: CodeDep, state: PullState = "open") -> PullList:
    """The repository's pull requests, newest first: `open` ones, `closed` (merged included) or `all`."""
    pulls = await code.prs(project, state)
    return PullList(pull_requests=[PullView.of(pull) for pull in pulls])


@router.post("/prs", status_code=201)
async def open_pr(req: PullCreate, project: ProjectDep, code: CodeDep) -> PullView:
    """A pull request from `branch` into `base`; 409 when one is open between them already."""
    return PullView.of(await code.open_pr(project, req))


@router.get("/prs/{pr_number}")
async def get_pr(pr_number: PrNumber, project: ProjectDep, code: CodeDep) -> PullView:
    """The pull request: its branches, state and text."""
    return PullView.of(await code.pr(project, pr_number))


@router.post("/prs/{pr_number}/merge")
async def merge_pr(
    pr_number: PrNumber, project: ProjectDep, code: CodeDep, req: MergeRequest | None = None
) -> MergeView:
    """Merge the pull request into its base (`method`: merge, squash or rebase); 409 naming why
    not: merged or closed already, a draft, or changes that do not merge cleanly."""
    merged = await code.merge(project, pr_number, (req or MergeRequest()).method)
    return MergeView(number=merged.number, sha=merged.sha)


@router.get("/issues/{issue_id}/hierarchy")
async def get_hierarchy(issue_id: IssueId, project: ProjectDep, code: CodeDep) -> IssueHierarchy:
    """The issue with its descendants as a tree, and its ancestors' ids, the root first."""
    return await code.hierarchy(project, issue_id)


@router.post("/issues/{issue_id}/defects", status_code=201)
async def file_defect(issue_id: IssueId, req: DefectCreate, project: ProjectDep, code: CodeDep) -> IssueView:
    """A defect under the issue, after its children; 422 under a defect or an issue that is done."""
    return IssueView.of(await code.file_defect(project, issue_id, req))


@router.post("/code", status_code=201)
async def start_code(req: CodeRequest, project: ProjectDep, code: CodeDep) -> RunCreated:
    """Start a code run: the description becomes an idea run on the project's repository."""
    run = await code.start(project, req)
    return RunCreated(run_id=run.id)
