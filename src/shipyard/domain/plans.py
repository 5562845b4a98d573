"""Seed 004's words: a cluster of user feedback, the coding plan made for it (versioned, editable)
and the jobs that carry a plan out. Pure: the store keeps these, `plans/` drives them."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_PLAN_ITEMS = 50
_Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
_Path = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ClusterStatus(StrEnum):
    """Where a cluster is, seed 004's order: a plan is made, then a fix is run from it."""

    NEW = "new"
    PLANNING = "planning"
    PLAN_READY = "plan_ready"
    FIXING = "fixing"
    PR_OPENED = "pr_opened"
    FAILED = "failed"


class JobStatus(StrEnum):
    QUEUED = "queued"
    PLANNING = "planning"  # the job makes the plan it needs first
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class CodingPlan(BaseModel):
    """What a fix will do (seed 004): the plan an agent writes and a person may edit. Each
    validation step is a shell command run from the repository's root once the change is made."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=20_000)
    hypotheses: list[_Line] = Field(default_factory=list, max_length=MAX_PLAN_ITEMS)
    candidate_files: list[_Path] = Field(default_factory=list, max_length=MAX_PLAN_ITEMS)
    validation_steps: list[_Line] = Field(default_factory=list, max_length=MAX_PLAN_ITEMS)

    def markdown(self) -> str:
        """The plan as a person reads it (the agent's brief, the pull request's Plan section)."""
        parts = [self.summary.strip()]
        for title, items, code in (
            ("Hypotheses", self.hypotheses, False),
            ("Candidate files", self.candidate_files, True),
            ("Validation steps", self.validation_steps, True),
        ):
            if items:
                lines = "\n".join(f"- `{i}`" if code else f"- {i}" for i in items)
                parts.append(f"### {title}\n\n{lines}")
        return "\n\n".join(parts)


def new_cluster_id() -> str:
    """`cl-` and 8 lowercase hex characters."""
    return f"cl-{secrets.token_hex(4)}"


def new_job_id() -> str:
    """`job-` and 8 lowercase hex characters."""
    return f"job-{secrets.token_hex(4)}"
