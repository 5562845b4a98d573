"""The default sandbox: a git worktree of the repository's cached bare mirror."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from shipyard.config import Settings
from shipyard.domain.errors import SandboxError
from shipyard.domain.models import SandboxHandle, SandboxSpec
from shipyard.gitutil import (
    add_worktree,
    default_branch,
    ensure_mirror,
    mirror_path,
    origin_branches,
    redact,
    remote_branches,
    remove_worktree,
)
from shipyard.sandboxes.workspace import LocalWorkspace

_SAFE_DIR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def sandbox_dir(settings: Settings, work_order_id: str) -> Path:
    """The directory a work order's working tree lives in; the id must be a plain name."""
    if not _SAFE_DIR_NAME.match(work_order_id):
        raise SandboxError(f"work order id {work_order_id!r} cannot name a sandbox directory")
    return settings.sandboxes_dir.absolute() / work_order_id


async def check_base_branch(
    repo: Path, base: str, repository_url: str, branches: list[str] | None = None
) -> None:
    """Raise SandboxError naming `base` and the existing branches unless origin has `base`
    (`branches`: origin's, when the caller has them already)."""
    branches = await remote_branches(repo) if branches is None else branches
    if base not in branches:
        known = ", ".join(branches) or "none"
        raise SandboxError(
            f"base branch {base!r} does not exist in {redact(repository_url)}; existing branches: {known}"
        )


class GitWorktreeSandbox:
    """Each work order gets a worktree of a shared bare mirror, on its own branch."""

    name = "git_worktree"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def setup(self, spec: SandboxSpec) -> SandboxHandle:
        """Refresh the mirror and add a worktree on `spec.branch` from origin's base branch."""
        path = sandbox_dir(self._settings, spec.work_order_id)
        token = spec.git_token.get_secret_value() if spec.git_token else None
        mirror = await ensure_mirror(spec.repository_url, self._settings.mirrors_dir, token=token)
        known = await origin_branches(mirror)
        base = spec.base_branch or await default_branch(mirror, known)
        await check_base_branch(mirror, base, spec.repository_url, known[0])
        base_sha = await add_worktree(mirror, path, spec.branch, f"refs/remotes/origin/{base}")
        return SandboxHandle(
            sandbox_type=self.name,
            work_order_id=spec.work_order_id,
            repository_url=spec.repository_url,
            path=str(path),
            branch=spec.branch,
            base_branch=base,
            base_sha=base_sha,
            extra={"mirror": str(mirror)},
        )

    def workspace(
        self, handle: SandboxHandle, network: bool = False, env: Mapping[str, str] | None = None
    ) -> LocalWorkspace:
        """A workspace running commands in the worktree (which cannot keep them off the network)."""
        return LocalWorkspace(handle.path, env)

    async def cleanup(self, handle: SandboxHandle) -> None:
        """Remove the worktree; the branch and its commits stay in the mirror."""
        mirror = handle.extra.get("mirror")
        if not isinstance(mirror, str):
            mirror = str(mirror_path(handle.repository_url, self._settings.mirrors_dir))
        await remove_worktree(Path(mirror), Path(handle.path))
