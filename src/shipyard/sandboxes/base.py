"""The Sandbox and Workspace protocols."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from shipyard.domain.models import ExecResult, SandboxHandle, SandboxSpec

# Called with ("stdout" | "stderr", line without its newline) as a command prints.
LineCallback = Callable[[str, str], Awaitable[None]]


def argv_of(command: str | Sequence[str]) -> list[str]:
    """The argv a workspace runs: a string goes to `bash -c`, a list as it is."""
    return ["bash", "-c", command] if isinstance(command, str) else list(command)


class Workspace(Protocol):
    """A prepared working tree that commands and agents run in."""

    @property
    def path(self) -> Path: ...

    async def exec(
        self,
        command: str | Sequence[str],
        *,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        on_line: LineCallback | None = None,
    ) -> ExecResult:
        """Run `command` (a string goes to `bash -c`) in the working tree; never raises on exit codes."""
        ...


class Sandbox(Protocol):
    """Sets up, opens and removes the working tree of a work order."""

    name: str

    async def setup(self, spec: SandboxSpec) -> SandboxHandle:
        """Create the working tree on branch `spec.branch`; raise SandboxError or GitError on failure."""
        ...

    def workspace(
        self, handle: SandboxHandle, network: bool = False, env: Mapping[str, str] | None = None
    ) -> Workspace:
        """The workspace of a sandbox set up earlier (possibly by another process); `network`
        lets its commands reach the network where the sandbox can keep them from it; `env` is
        added to every command's environment."""
        ...

    async def cleanup(self, handle: SandboxHandle) -> None:
        """Remove the working tree; the branch and its commits stay. Safe to call twice."""
        ...
