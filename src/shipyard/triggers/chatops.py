"""ChatOps: `/shipyard run <workflow> [key=value …]` in an issue or pull-request comment."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from shipyard.domain.errors import InvalidInput

PREFIX = "/shipyard"
USAGE = "`/shipyard run <workflow> [key=value …]`, e.g. `/shipyard run agent_workflow_plan`"
WRITE_PERMISSIONS = ("admin", "maintain", "write")


@dataclass(frozen=True)
class Command:
    workflow: str
    inputs: dict[str, str] = field(default_factory=dict)


def is_command(comment: str) -> bool:
    """Whether the comment addresses Shipyard (its first non-blank line starts with /shipyard)."""
    first = next((line.strip() for line in comment.splitlines() if line.strip()), "")
    return first == PREFIX or first.startswith(PREFIX + " ")


def parse_command(comment: str) -> Command:
    """The command in the comment's first line; InvalidInput with the usage when it is not one."""
    first = next(line.strip() for line in comment.splitlines() if line.strip())
    try:
        words = shlex.split(first)
    except ValueError as err:
        raise InvalidInput(f"cannot read the command ({err}); use {USAGE}") from None
    if len(words) < 3 or words[1] != "run":
        raise InvalidInput(f"unknown command; use {USAGE}")
    inputs: dict[str, str] = {}
    for word in words[3:]:
        key, sep, value = word.partition("=")
        if not sep or not key.isidentifier():
            raise InvalidInput(f"'{word}' is not key=value; use {USAGE}")
        inputs[key] = value
    return Command(workflow=words[2], inputs=inputs)
