"""What the cluster workflow and its activities pass each other (plain data, replay-safe)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from shipyard.engine.types import StartWorkOrderInput


class ClusterWorkInput(BaseModel):
    """Make the cluster's plan (`plan_first`), then, for a job, run the fix with the job's runner."""

    cluster_id: str
    runner: str
    job_id: str | None = None
    plan_first: bool = False


class WorkMade(BaseModel):
    """A work order recorded for the cluster, and how to start it."""

    work_order_id: str
    start: StartWorkOrderInput


class FixMade(BaseModel):
    """The fix under way: a work order to run, or (a remote runner) a job handed out, waited on."""

    work: WorkMade | None = None
    timeout_s: float = 0.0


class WorkEnded(BaseModel):
    cluster_id: str
    job_id: str | None
    work_order_id: str | None  # none: a remote runner's job
    status: str  # the work order's: completed | failed | cancelled
    error: str | None = None


class RemoteReport(BaseModel):
    """A remote executor's callback (`POST /api/jobs/{id}/callback`)."""

    status: Literal["running", "succeeded", "failed", "cancelled"]
    pr_url: str | None = None
    error: str | None = None
