"""How the parts a work order needs are doing: the database, Temporal (and its supervision, when
the dev server is embedded) and the disk under the data dir."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from shipyard.engine.devserver import TemporalWatch
from shipyard.store.store import Store

LOW_DISK_BYTES = 1 << 30  # below 1 GiB free, or below 5 %, writes start failing soon
LOW_DISK_RATIO = 0.05
_TEMPORAL_ANSWER_S = 3.0


@dataclass
class DiskCheck:
    state: str  # ok | low | unknown
    free_bytes: int | None = None
    total_bytes: int | None = None


@dataclass
class HealthCheck:
    """How each part answered: `ok`, else what is wrong (`error: <type>`, `restarting`, `down`, `low`)."""

    database: str
    temporal: str
    disk: DiskCheck
    temporal_restarts: int = 0  # times the embedded dev server was restarted since start

    @property
    def healthy(self) -> bool:
        return self.database == self.temporal == self.disk.state == "ok"


def check_disk(path: Path, low_bytes: int = LOW_DISK_BYTES, low_ratio: float = LOW_DISK_RATIO) -> DiskCheck:
    """Free space on the file system holding `path`; `low` under 1 GiB or 5 %."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return DiskCheck("unknown")
    low = usage.free < low_bytes or usage.free < usage.total * low_ratio
    return DiskCheck("low" if low else "ok", usage.free, usage.total)


async def check_database(store: Store) -> str:
    try:
        await store.ping()
    except Exception as err:  # a health check reports, it does not raise
        return f"error: {type(err).__name__}"
    return "ok"


async def check_temporal(client: Client | None, watch: TemporalWatch | None) -> str:
    """`ok` when Temporal answers; else `restarting` while its supervisor brings it back, `down` otherwise."""
    if client is None:
        return "not connected"
    if watch is not None and watch.state != "ok":
        return watch.state  # its supervisor knows; creates and controls answer 503 meanwhile
    try:
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=_TEMPORAL_ANSWER_S)
        )
    except Exception:  # reported, not raised
        return "down"
    return "ok"
