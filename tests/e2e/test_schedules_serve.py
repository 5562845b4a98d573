"""A schedule outlives `shipyard serve` itself: the real process, killed with SIGKILL and started
again on its data dir, finds the schedule on its embedded Temporal and fires it again."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from test_durability import finished_work_order, start_serve, wait_for
from test_schedules import SCHEDULE, nightly_repo

from cli_kit import shipyard
from shipyard.engine.devserver import free_port
from support import MakeRepo


def fire(data: Path, url: str, last: str | None) -> str:
    """`schedules trigger` on the one schedule, through the server at `url`, after checking that
    Temporal still knows its `last` work order; the work order it started."""
    listed = shipyard(data, "schedules", "ls", SHIPYARD_SERVER=url)
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if "nightly" in line]
    assert "active" in row
    assert last is None or last in row  # the schedule itself survived, not one made anew
    fired = shipyard(data, "schedules", "trigger", row.split()[0], SHIPYARD_SERVER=url)
    assert fired.returncode == 0, fired.stderr
    return fired.stdout.split("work order ")[1].strip()


def test_a_schedule_fires_again_after_serve_was_killed_and_started_again(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    data, log = tmp_path / "data", tmp_path / "serve.log"
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump([SCHEDULE]))
    repo = nightly_repo(make_repo)
    made = shipyard(data, "projects", "create", "nightly", str(repo), "--source-file", str(sources))
    assert made.returncode == 0, made.stderr
    url = f"http://127.0.0.1:{free_port()}"
    fired = []
    for _ in range(2):
        proc = start_serve(data, int(url.rsplit(":", 1)[1]), log, workers=0)
        try:
            wait_for(lambda: httpx.get(f"{url}/api/health").status_code == 200, 90, "serve to answer")
            wid = fire(data, url, fired[-1] if fired else None)
            wo = finished_work_order(url, wid, 60)
            assert wo["status"] == "completed" and wo["trigger"]["source"] == "schedule", log.read_text()
            fired.append(wid)
        finally:
            proc.kill()  # SIGKILL: nothing is tidied; the next serve finds what Temporal kept
            proc.wait()
    assert len(set(fired)) == 2
