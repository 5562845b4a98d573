"""Sandbox adapters by name: config and a work order's `sandbox_type` pick one here."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.domain.models import Availability
from shipyard.sandboxes.base import Sandbox
from shipyard.sandboxes.bwrap import BwrapSandbox
from shipyard.sandboxes.docker import DockerSandbox
from shipyard.sandboxes.e2b import E2BSandbox
from shipyard.sandboxes.git_branch import GitBranchSandbox
from shipyard.sandboxes.git_worktree import GitWorktreeSandbox

_FACTORIES: dict[str, Callable[[Settings], Sandbox]] = {
    BwrapSandbox.name: BwrapSandbox,
    DockerSandbox.name: DockerSandbox,
    E2BSandbox.name: E2BSandbox,
    GitBranchSandbox.name: GitBranchSandbox,
    GitWorktreeSandbox.name: GitWorktreeSandbox,
}
SANDBOX_NAMES: tuple[str, ...] = tuple(sorted(_FACTORIES))
_DESCRIPTIONS = {
    "git_worktree": "a git worktree beside a cached mirror: isolated, parallel-safe, fast (default)",
    "git_branch": "a fresh clone on its own branch: simple, nothing shared",
    "bwrap": "a fresh clone, every command in bubblewrap: the rest of the system read-only, no network",
    "docker": "a fresh clone mounted in a container per work order: limits, no network unless asked",
    "e2b": "an E2B cloud sandbox per work order, the repository cloned inside, kept level with a clone here",
}


def build_sandbox(name: str, settings: Settings) -> Sandbox:
    """The sandbox adapter called `name`; InvalidInput listing the known names otherwise."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise InvalidInput(f"unknown sandbox {name!r}; known: {', '.join(SANDBOX_NAMES)}")
    return factory(settings)


def describe_sandboxes(settings: Settings) -> list[tuple[str, str, Availability]]:
    """(name, description, availability) of every sandbox."""
    return [(name, _DESCRIPTIONS.get(name, ""), _availability(name, settings)) for name in SANDBOX_NAMES]


def _availability(name: str, settings: Settings) -> Availability:
    if name == BwrapSandbox.name:
        return BwrapSandbox.check(settings)
    if name == DockerSandbox.name:
        return DockerSandbox.check(settings)
    if name == E2BSandbox.name:
        return E2BSandbox.check(settings)
    return Availability(available=True)
