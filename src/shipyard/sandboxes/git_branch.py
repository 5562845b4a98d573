"""A sandbox that is a fresh, full clone of the repository on a new branch."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Mapping
from pathlib import Path

from shipyard.config import Settings
from shipyard.domain.models import SandboxHandle, SandboxSpec
from shipyard.gitutil import (
    clone_source,
    default_branch,
    failure,
    git,
    head_sha,
    is_git_repo,
    redact,
    run_git,
    strip_credentials,
    token_env,
)
from shipyard.sandboxes.git_worktree import check_base_branch, sandbox_dir
from shipyard.sandboxes.workspace import LocalWorkspace

_CLONE_TIMEOUT_S = 3600.0


class GitBranchSandbox:
    """Each work order gets its own clone; cleanup deletes it (push the branch first)."""

    name = "git_branch"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def setup(self, spec: SandboxSpec) -> SandboxHandle:
        """Clone the repository and check out `spec.branch` from origin's base branch."""
        path = sandbox_dir(self._settings, spec.work_order_id)
        if await _on_branch(path, spec.branch):  # a retry finds the clone of an earlier attempt
            base = spec.base_branch or await default_branch(path)
            base_sha = await git("merge-base", "HEAD", f"refs/remotes/origin/{base}", cwd=path)
            return self._handle(spec, path, base, base_sha.strip())
        await asyncio.to_thread(_remove, path)
        try:
            base, base_sha = await _clone_and_branch(spec, path)
        except BaseException:
            await asyncio.to_thread(_remove, path)
            raise
        return self._handle(spec, path, base, base_sha)

    def workspace(
        self, handle: SandboxHandle, network: bool = False, env: Mapping[str, str] | None = None
    ) -> LocalWorkspace:
        """A workspace running commands in the clone (which cannot keep them off the network)."""
        return LocalWorkspace(handle.path, env)

    async def cleanup(self, handle: SandboxHandle) -> None:
        """Delete the clone; unpushed commits go with it. Safe to call twice."""
        await asyncio.to_thread(_remove, Path(handle.path))

    def _handle(self, spec: SandboxSpec, path: Path, base: str, base_sha: str) -> SandboxHandle:
        return SandboxHandle(
            sandbox_type=self.name,
            work_order_id=spec.work_order_id,
            repository_url=spec.repository_url,
            path=str(path),
            branch=spec.branch,
            base_branch=base,
            base_sha=base_sha,
        )


async def _clone_and_branch(spec: SandboxSpec, path: Path) -> tuple[str, str]:
    source = clone_source(spec.repository_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = spec.git_token.get_secret_value() if spec.git_token else None
    env = token_env(token, source) if token else None
    cloned = await run_git("clone", "--quiet", source, str(path), env=env, timeout_s=_CLONE_TIMEOUT_S)
    if not cloned.ok:
        raise failure(cloned, f"cannot clone repository {redact(source)}", (token,))
    # The agent can read .git/config: keep tokens out of it (pushing is the forge's job).
    await git("remote", "set-url", "origin", strip_credentials(source), cwd=path)
    base = spec.base_branch or await default_branch(path)
    await check_base_branch(path, base, spec.repository_url)
    start = f"refs/remotes/origin/{base}"
    pushed = f"refs/remotes/origin/{spec.branch}"
    if (await run_git("rev-parse", "--verify", "--quiet", pushed, cwd=path)).ok:  # a retried work order
        await git("checkout", "--quiet", "--no-track", "-b", spec.branch, pushed, cwd=path)
        return base, (await git("merge-base", "HEAD", start, cwd=path)).strip()
    await git("checkout", "--quiet", "--no-track", "-b", spec.branch, start, cwd=path)
    return base, await head_sha(path)


async def _on_branch(path: Path, branch: str) -> bool:
    if not await is_git_repo(path):
        return False
    current = await run_git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=path)
    return current.ok and current.stdout.strip() == branch


def _remove(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
