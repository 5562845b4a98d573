"""The `github` forge: the branch pushed over HTTPS with the token, one pull request per branch.

Idempotent by construction: the pull request is found by its head branch before one is opened,
and GitHub's "already exists" answer to a create counts as found. A retried activity, a retried
work order or a restarted worker therefore updates the same pull request instead of opening a
second. The token reaches git only through its environment (gitutil.auth), never a URL.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError
from shipyard.domain.models import SandboxHandle
from shipyard.forge.base import PullRequestInfo, PullRequestSpec
from shipyard.forge.github import GitHubClient, PullRef, RepoRef, parse_repository
from shipyard.gitutil import progress, push


class GitHubForge:
    """Pull requests on GitHub (or GitHub Enterprise, or a fake at `github_api_url`)."""

    name = "github"

    def __init__(self, settings: Settings, token: SecretStr) -> None:
        self.token = token
        self._client = GitHubClient(settings, token)

    async def push(self, handle: SandboxHandle) -> None:
        token = self.token.get_secret_value()
        await push(Path(handle.path), handle.repository_url, handle.branch, token=token)

    async def find_pr(self, handle: SandboxHandle) -> PullRef | None:
        return await self._client.find_open_pull(_repo(handle), handle.branch)

    async def open_or_update_pr(self, handle: SandboxHandle, spec: PullRequestSpec) -> PullRequestInfo:
        """Find the branch's open pull request or open one; bring title, body and draft state in line."""
        ref = _repo(handle)
        pull = await self._client.find_open_pull(ref, handle.branch)
        if pull is None:
            title = spec.title or handle.branch
            pull = await self._client.create_pull(
                ref, handle.branch, handle.base_branch, title, spec.body, draft=spec.draft is not False
            )
        elif (spec.title and spec.title != pull.title) or (spec.body and spec.body != pull.body):
            pull = await self._client.update_pull(ref, pull.number, title=spec.title, body=spec.body or None)
        if spec.draft is False and pull.draft:
            await self._client.mark_ready(pull.node_id)
            pull = pull.model_copy(update={"draft": False})
        return await _info(handle, pull)


def _repo(handle: SandboxHandle) -> RepoRef:
    ref = parse_repository(handle.repository_url)
    if ref is None:
        raise ForgeError(f"'{handle.repository_url}' does not name a GitHub repository (owner/name)")
    return ref


async def _info(handle: SandboxHandle, pull: PullRef) -> PullRequestInfo:
    stats = await progress(Path(handle.path), handle.base_sha)
    return PullRequestInfo(
        number=pull.number,
        url=pull.html_url,
        title=pull.title,
        body=pull.body,
        head_branch=pull.head_branch,
        base_branch=pull.base_branch,
        state=pull.state,
        draft=pull.draft,
        commits=stats.commit_count,
        files_changed=stats.files_changed,
        lines_added=stats.lines_added,
        lines_removed=stats.lines_removed,
    )
