"""Health's disk check: the free space of the data dir's file system, `low` under its thresholds."""

from __future__ import annotations

import shutil
from pathlib import Path

from shipyard.service.health import check_disk


def test_disk_with_room_is_ok_with_its_figures(tmp_path: Path) -> None:
    usage = shutil.disk_usage(tmp_path)
    disk = check_disk(tmp_path, low_bytes=1, low_ratio=0.0)
    assert disk.state == "ok" and disk.total_bytes == usage.total
    assert disk.free_bytes is not None and abs(disk.free_bytes - usage.free) < 1 << 26


def test_disk_under_either_threshold_is_low(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    assert check_disk(tmp_path, low_bytes=free * 2, low_ratio=0.0).state == "low"
    assert check_disk(tmp_path, low_bytes=1, low_ratio=1.0).state == "low"


def test_a_missing_data_dir_is_unknown(tmp_path: Path) -> None:
    assert check_disk(tmp_path / "gone").state == "unknown"
