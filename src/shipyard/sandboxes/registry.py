"""Sandbox adapters by name: config and a work order's `sandbox_type` pick one here.

Adapters are named as `module:Class` and imported when one is built or checked, so that listing
the names loads no SDK (docker, e2b, dagger): the CLI and the API only need the names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.domain.models import Availability
from shipyard.sandboxes.base import Sandbox

_ADAPTERS: dict[str, str] = {
    "bwrap": "shipyard.sandboxes.bwrap:BwrapSandbox",
    "dagger": "shipyard.sandboxes.dagger:DaggerSandbox",
    "docker": "shipyard.sandboxes.docker:DockerSandbox",
    "e2b": "shipyard.sandboxes.e2b:E2BSandbox",
    "git_branch": "shipyard.sandboxes.git_branch:GitBranchSandbox",
    "git_worktree": "shipyard.sandboxes.git_worktree:GitWorktreeSandbox",
}
SANDBOX_NAMES: tuple[str, ...] = tuple(sorted(_ADAPTERS))
_CHECKED = ("bwrap", "dagger", "docker", "e2b")  # the adapters that say whether they can run here
_DESCRIPTIONS = {
    "git_worktree": "a git worktree beside a cached mirror: isolated, parallel-safe, fast (default)",
    "git_branch": "a fresh clone on its own branch: simple, nothing shared",
    "bwrap": "a fresh clone, every command in bubblewrap: the rest of the system read-only, no network",
    "docker": "a fresh clone mounted in a container per work order: limits, no network unless asked",
    "e2b": "an E2B cloud sandbox per work order, the repository cloned inside, kept level with a clone here",
    "dagger": "a fresh clone, each command in a new Dagger container holding it, the tree taken back after",
}


def _adapter(name: str) -> Any:
    """The adapter class registered as `name`, imported now (and its SDK with it)."""
    module, _, attribute = _ADAPTERS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def build_sandbox(name: str, settings: Settings) -> Sandbox:
    """The sandbox adapter called `name`; InvalidInput listing the known names otherwise."""
    if name not in _ADAPTERS:
        raise InvalidInput(f"unknown sandbox {name!r}; known: {', '.join(SANDBOX_NAMES)}")
    factory: Callable[[Settings], Sandbox] = _adapter(name)
    return factory(settings)


def describe_sandboxes(settings: Settings) -> list[tuple[str, str, Availability]]:
    """(name, description, availability) of every sandbox."""
    return [(name, _DESCRIPTIONS.get(name, ""), availability(name, settings)) for name in SANDBOX_NAMES]


def availability(name: str, settings: Settings) -> Availability:
    """Whether sandbox `name` can run here, and why not (blocking: it may run a probe)."""
    if name not in _CHECKED:
        return Availability(available=True)
    check: Callable[[Settings], Availability] = _adapter(name).check
    return check(settings)
