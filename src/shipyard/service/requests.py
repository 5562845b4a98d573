"""A request for a work order, checked before anything is recorded or started: its project, the
repository, agent, sandbox and forge, the issue it is about, the workflow and its inputs. The
service checks every create this way; an embedded `shipyard run` checks before it starts an engine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.agents.registry import AGENT_NAMES
from shipyard.config import Settings
from shipyard.domain.budget import Budget
from shipyard.domain.errors import ForgeError, InvalidInput
from shipyard.domain.models import CreateWorkOrderRequest
from shipyard.domain.untrusted import clean, quote
from shipyard.forge.base import Forge
from shipyard.forge.local_git import repository_path
from shipyard.forge.models import PullRequestInfo
from shipyard.forge.registry import default_forge_name, forge_for, repository_name
from shipyard.gitutil import branch_exists, git, is_branch_name, is_git_repo
from shipyard.sandboxes.registry import SANDBOX_NAMES, availability
from shipyard.store.records import ProjectRecord
from shipyard.store.store import Store
from shipyard.workflows.loader import bind_inputs, builtin_names, resolve_definition
from shipyard.workflows.schema import WorkflowDefinition


def local_repository(url: str) -> Path | None:
    """The directory of a repository given as a path or file:// URL; None for remote URLs."""
    return repository_path(url)


def exists(path: Path) -> bool:
    """Whether something is at `path`; False for a path no file system holds (a name over 255
    bytes, say), for which `Path.exists` raises instead."""
    try:
        return path.exists()
    except OSError:
        return False


@dataclass
class CheckedRequest:
    """What the work order will be. `definition` is None only for a workflow the remote
    repository defines (resolved once it is cloned); otherwise `bound` holds its inputs."""

    project: ProjectRecord | None
    repository_url: str
    agent: str
    sandbox_type: str
    forge: str
    inputs: dict[str, Any]  # as given, with what the issue filled in
    implicit: list[str]  # inputs Shipyard filled in, dropped if the workflow does not declare them
    budget: Budget | None
    definition: WorkflowDefinition | None
    bound: dict[str, Any] | None
    base_branch: str | None = None  # as asked, else the pull request's base
    branch: str | None = None  # the pull request's branch, which the work order continues


async def check_request(
    settings: Settings, store: Store, req: CreateWorkOrderRequest, workflows_from: Path | None = None
) -> CheckedRequest:
    """The request checked and completed from its project and the settings; InvalidInput (or
    NotFound, ForgeError) saying what is wrong. A workflow named is looked up in `workflows_from`
    (a working tree of the repository), else in the local repository."""
    project = await store.get_project(req.project) if req.project else None
    repository_url = await checked_repository(req.repository_url)
    agent = req.agent or (project and project.agent) or settings.agent
    sandbox_type = req.sandbox_type or (project and project.sandbox_type) or settings.sandbox
    _check_names(agent, sandbox_type)
    await _check_sandbox(settings, sandbox_type)
    await _check_base_branch(req.base_branch, repository_url)
    name = req.forge or (project.forge if project else None) or default_forge_name(settings, repository_url)
    forge = _forge(settings, store, name, repository_url)
    await forge.require_access()
    inputs = _inputs_of(req)
    if forge.hosted and req.github_issue_number is not None:
        inputs = await _with_issue(forge, req.github_issue_number, inputs)
    base_branch, branch = req.base_branch, None
    if req.github_pull_request_number is not None:
        pull = await forge.get_pr(req.github_pull_request_number)
        if pull.state != "open":
            raise InvalidInput(f"pull request #{pull.number} is {pull.state}; only an open one is worked on")
        inputs = await _with_pull_request(forge, pull, inputs)
        base_branch, branch = base_branch or pull.base_branch, pull.head_branch
    implicit = _implicit_inputs(req, inputs)
    definition = _definition(req, workflows_from or local_repository(repository_url))
    bound = bind_inputs(definition, inputs, implicit) if definition is not None else None
    budget = req.budget or (project.budget if project else None)
    return CheckedRequest(
        project, repository_url, agent, sandbox_type, name, inputs, implicit, budget, definition, bound,
        base_branch, branch,
    )  # fmt: skip


def _check_names(agent: str, sandbox_type: str) -> None:
    if agent not in AGENT_NAMES:
        raise InvalidInput(f"unknown agent '{agent}'; known: {', '.join(AGENT_NAMES)}")
    if sandbox_type not in SANDBOX_NAMES:
        raise InvalidInput(f"unknown sandbox '{sandbox_type}'; known: {', '.join(SANDBOX_NAMES)}")


async def _check_sandbox(settings: Settings, sandbox_type: str) -> None:
    """A sandbox that cannot run here (bwrap not installed, no Docker engine) is refused, saying why."""
    # The check may run a program or ask an engine: off the event loop.
    found = await asyncio.to_thread(availability, sandbox_type, settings)
    if not found.available:
        raise InvalidInput(f"sandbox '{sandbox_type}' is not available here: {found.reason}")


async def _check_base_branch(base: str | None, repository_url: str) -> None:
    """A base branch git would refuse to name, or one a local repository lacks, is refused now
    rather than at the first step. A remote's branches are not asked for: that takes the network,
    and a cached mirror may not have a branch pushed since."""
    if not base:
        return  # the repository's default branch
    if not await is_branch_name(base):
        raise InvalidInput(f"base_branch '{base}' is not a valid branch name")
    repo = local_repository(repository_url)
    if repo is not None and not await branch_exists(repo, base):
        names = (await git("for-each-ref", "--format=%(refname:strip=2)", "refs/heads/", cwd=repo)).split()
        known = ", ".join(names[:20]) or "none"
        raise InvalidInput(
            f"base branch '{base}' does not exist in {repository_url}; existing branches: {known}"
        )


def _forge(settings: Settings, store: Store, name: str, repository_url: str) -> Forge:
    """Forge `name` for the repository; InvalidInput for a name no forge has."""
    try:
        return forge_for(name, settings, repository_url, store)
    except ForgeError as err:
        raise InvalidInput(err.message) from None


async def checked_repository(url: str) -> str:
    """A remote URL as given; a local one as the absolute path of an existing git repository;
    InvalidInput saying which it is not (with a hint when it looks like `owner/name`)."""
    path = local_repository(url)
    if path is None:
        return url
    path = path.resolve()
    if not exists(path):
        named = None if url.startswith((".", "/", "~")) else repository_name(url)
        hint = f"; for a GitHub repository give its URL: https://github.com/{named}" if named else ""
        raise InvalidInput(f"repository '{url}' not found: no such directory{hint}")
    if not await is_git_repo(path):
        raise InvalidInput(f"repository '{url}' is not a git repository")
    return str(path)


def _inputs_of(req: CreateWorkOrderRequest) -> dict[str, Any]:
    inputs = dict(req.inputs)
    if req.initial_prompt is not None:
        inputs.setdefault("prompt", req.initial_prompt)
    if req.github_issue_number is not None:
        inputs.setdefault("issue", req.github_issue_number)
    if req.github_pull_request_number is not None:
        inputs.setdefault("pr", req.github_pull_request_number)
    return inputs


def _implicit_inputs(req: CreateWorkOrderRequest, inputs: dict[str, Any]) -> list[str]:
    """Inputs Shipyard filled in from the issue or pull request, which a workflow that does not
    declare them ignores."""
    filled = []
    if req.github_issue_number is not None:
        filled += ["issue"] if "issue" not in req.inputs else []
        if "prompt" in inputs and "prompt" not in req.inputs and req.initial_prompt is None:
            filled.append("prompt")
    if req.github_pull_request_number is not None:
        filled += [name for name in PULL_REQUEST_INPUTS if name not in req.inputs]
    return filled


async def _with_issue(forge: Forge, number: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The issue's title, labels and body in the inputs, cleaned and quoted as data."""
    if not number.isdigit():
        raise InvalidInput(f"github_issue_number must be a number, not '{number}'")
    issue = await forge.get_issue(int(number))
    title = clean(issue.title)
    labels = f"Labels: {', '.join(issue.labels)}\n" if issue.labels else ""
    text = f"Title: {issue.title}\n{labels}\n{issue.body}"
    inputs = dict(inputs)
    inputs["issue"] = f"#{issue.number} {title} ({issue.html_url})\n\n" + quote(f"issue #{number}", text)
    inputs.setdefault("prompt", f"Resolve GitHub issue #{issue.number}: {title}")
    return inputs


PULL_REQUEST_INPUTS = ("pr", "pull_request")  # what `github_pull_request_number` fills in
_QUOTED_COMMENTS = 50  # review comments quoted in the `pull_request` input, the latest


async def _with_pull_request(forge: Forge, pull: PullRequestInfo, inputs: dict[str, Any]) -> dict[str, Any]:
    """The pull request's number as `pr`; its title, description and (where the forge keeps them)
    review comments, with the ids a reply names, quoted as data in `pull_request`."""
    text = f"Title: {pull.title}\nBranch: {pull.head_branch} into {pull.base_branch}\n\n{pull.body}"
    if forge.hosted:
        comments = (await forge.list_review_comments(pull.number))[-_QUOTED_COMMENTS:]
        lines = [
            f"- comment {c.id} by {c.author} on {c.path}" + (f" line {c.line}" if c.line else " (outdated)")
            + (f", replying to {c.in_reply_to_id}" if c.in_reply_to_id else "") + f":\n  {c.body}"
            for c in comments
        ]  # fmt: skip
        text += "\n\nReview comments:\n" + ("\n".join(lines) if lines else "none")
    inputs = dict(inputs)
    inputs["pull_request"] = f"#{pull.number} {clean(pull.title)} ({pull.url})\n\n" + quote(
        f"pull request #{pull.number}", text
    )
    return inputs


def _definition(req: CreateWorkOrderRequest, repo: Path | None) -> WorkflowDefinition | None:
    """The definition when it can be known before the sandbox exists (`repo`: a tree of the
    repository on this machine); None to resolve it there."""
    if req.workflow_definition is None and not req.workflow_type:
        raise InvalidInput("give a workflow: `workflow_type` (a name) or `workflow_definition` (YAML)")
    if req.workflow_definition is None and repo is None and req.workflow_type not in builtin_names():
        return None  # maybe defined in the remote repository's .shipyard/workflows
    return resolve_definition(
        req.workflow_type,
        text=req.workflow_definition,
        source=req.workflow_source or "<inline>",
        repo_path=repo,
    )
