"""Seed 002's words for an idea run and its issue tree: the run's states, the issue types and
statuses, and the branch each issue gets. Pure: the store keeps these, `ideas/` drives them."""

from __future__ import annotations

import re
import secrets
from enum import StrEnum


class RunState(StrEnum):
    """Where an idea run is. Seed 002's states in order, then the two ends it does not name."""

    IDEA_SUBMITTED = "IDEA_SUBMITTED"
    SPEC_WRITING = "SPEC_WRITING"
    ISSUE_TREE = "ISSUE_TREE"
    EXECUTION_LOOP = "EXECUTION_LOOP"
    QA = "QA"
    MERGE = "MERGE"
    RELEASE = "RELEASE"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunState.DONE, RunState.FAILED, RunState.CANCELLED)


class IssueType(StrEnum):
    EPIC = "epic"
    FEATURE = "feature"
    TASK = "task"
    DEFECT = "defect"


class IssueStatus(StrEnum):
    NEW = "NEW"
    IN_PROGRESS = "IN_PROGRESS"
    BLOCKED = "BLOCKED"
    REVIEW = "REVIEW"
    QA = "QA"
    DONE = "DONE"


def new_run_id() -> str:
    """`run-` and 8 lowercase hex characters."""
    return f"run-{secrets.token_hex(4)}"


def slug(title: str, limit: int = 40) -> str:
    """Lowercase words joined by `-`, at most `limit` characters (whole words where it can), never empty."""
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    if len(words) > limit:
        cut = words[: limit + 1]
        words = cut.rsplit("-", 1)[0] if "-" in cut else cut[:limit]
    return words.strip("-") or "issue"


def issue_branch(kind: IssueType, issue_id: int, title: str) -> str:
    """Seed 002 §3.2: `epic/<id>-<slug>`, `feature/<id>-<slug>`, `task/<id>-<slug>` (a defect:
    `defect/<id>-<slug>`)."""
    return f"{kind.value}/{issue_id}-{slug(title)}"
