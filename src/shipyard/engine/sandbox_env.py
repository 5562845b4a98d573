"""What a step's sandbox is given besides the allow-listed environment: its work order's id and
a token scoped to it (seed 000), where the API is, and the `shipyard` CLI on PATH for
`shipyard report`. Made inside the activity: the token never enters Temporal history."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shipyard.config import Settings
from shipyard.domain.tokens import mint_sandbox_token
from shipyard.domain.work_orders import WorkOrder


def sandbox_token(settings: Settings, wo: WorkOrder) -> str:
    """A token for this work order that expires when its time is up (and is refused once it ends)."""
    timeout_s = (wo.definition or {}).get("timeout_s") or settings.work_order_timeout_s
    started = wo.execution_started_at or datetime.now(UTC)
    started = started if started.tzinfo else started.replace(tzinfo=UTC)
    return mint_sandbox_token(settings.signing_key(), wo.id, started + timedelta(seconds=float(timeout_s)))


def step_env(settings: Settings, wo: WorkOrder, step_id: str, token: str) -> dict[str, str]:
    """The variables every command and agent of the step gets."""
    cli_dir = str(Path(sys.executable).parent)  # where `shipyard` was installed, beside its Python
    path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {
        "SHIPYARD_WORK_ORDER_ID": wo.id,
        "SHIPYARD_STEP_ID": step_id,
        "SHIPYARD_TOKEN": token,
        "SHIPYARD_URL": settings.server_url,
        "PATH": path if cli_dir in path.split(os.pathsep) else f"{cli_dir}{os.pathsep}{path}",
    }
