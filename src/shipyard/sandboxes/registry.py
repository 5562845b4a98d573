"""Sandbox adapters by name: config and a work order's `sandbox_type` pick one here."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.sandboxes.base import Sandbox
from shipyard.sandboxes.git_branch import GitBranchSandbox
from shipyard.sandboxes.git_worktree import GitWorktreeSandbox

_FACTORIES: dict[str, Callable[[Settings], Sandbox]] = {
    GitBranchSandbox.name: GitBranchSandbox,
    GitWorktreeSandbox.name: GitWorktreeSandbox,
}
SANDBOX_NAMES: tuple[str, ...] = tuple(sorted(_FACTORIES))


def build_sandbox(name: str, settings: Settings) -> Sandbox:
    """The sandbox adapter called `name`; InvalidInput listing the known names otherwise."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise InvalidInput(f"unknown sandbox {name!r}; known: {', '.join(SANDBOX_NAMES)}")
    return factory(settings)
