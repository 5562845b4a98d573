"""The Shipyard error tree. Adapters translate foreign exceptions into these at the edge.

ShipyardError
├── InvalidInput          bad request data: unknown workflow, agent or sandbox, bad YAML  (4xx)
│   └── WorkflowInvalid   a definition failed validation; message names file, step, field
├── NotFound              an id or repository that does not exist                          (404)
├── Forbidden             a credential that is not good for this object (a sandbox token)  (403)
├── Conflict              the object's state does not allow the action                     (409)
├── Unavailable           the engine (Temporal) does not answer now; nothing was changed   (503)
├── SandboxError          a sandbox could not be set up, used or cleaned
├── GitError              a git command failed (message carries git's own stderr)
├── AgentError            an agent run failed; `retryable` says whether to try again
├── ForgeError            pushing or opening a pull request failed
├── InstallError          an agent's CLI could not be installed (npm missing, npm or pip failed)
├── Cancelled             the work order was cancelled
└── BudgetExceeded        a usage limit was crossed
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

_Status = TypeVar("_Status", bound=StrEnum)


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ShipyardError):
    code = "invalid_input"


class WorkflowInvalid(InvalidInput):
    code = "workflow_invalid"


class NotFound(ShipyardError):
    code = "not_found"


class Forbidden(ShipyardError):
    code = "forbidden"


class Conflict(ShipyardError):
    code = "conflict"


class Unavailable(ShipyardError):
    code = "unavailable"


class SandboxError(ShipyardError):
    code = "sandbox_error"


class GitError(ShipyardError):
    code = "git_error"


class AgentError(ShipyardError):
    code = "agent_error"

    def __init__(self, message: str, *, kind: str = "error", retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable


class ForgeError(ShipyardError):
    code = "forge_error"


class InstallError(ShipyardError):
    code = "install_error"


class Cancelled(ShipyardError):
    code = "cancelled"


class BudgetExceeded(ShipyardError):
    code = "budget_exceeded"


def status_named(kind: type[_Status], value: str | None) -> _Status | None:
    """The status `value` names (None for none); InvalidInput listing the known ones otherwise."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(s.value for s in kind)
        raise InvalidInput(f"unknown status '{value}'; one of: {known}") from None
