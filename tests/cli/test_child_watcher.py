"""Commands that run an event loop (serve, worker, run …) wait for their subprocesses on the loop,
not in a thread started per subprocess (Python 3.11's default): a work order runs a dozen git calls."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import asyncio, threading
from shipyard.cli.common import run_async

async def spawn() -> list[str]:
    proc = await asyncio.create_subprocess_exec("sleep", "0.3")
    names = [thread.name for thread in threading.enumerate()]
    assert await proc.wait() == 0
    return names

loop = asyncio.new_event_loop()  # made before, as a test runner's is
asyncio.set_event_loop(loop)
print(",".join(run_async(spawn)))
loop.run_until_complete(spawn())  # and it can still start subprocesses afterwards
"""


def test_a_subprocess_is_waited_for_without_a_thread_of_its_own() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    threads = done.stdout.strip().split(",")  # the threads while run_async's subprocess ran
    assert "MainThread" in threads
    assert not [name for name in threads if "waitpid" in name], threads
