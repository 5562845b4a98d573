"""An exclusive lock per mirror, held across coroutines of one process and across processes."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

# asyncio.Lock belongs to one event loop, so the per-path locks are kept per loop.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def lock_file(mirror: Path) -> Path:
    """The lock file that sits next to `mirror`."""
    return mirror.parent / f"{mirror.name}.lock"


@contextlib.asynccontextmanager
async def mirror_lock(mirror: Path) -> AsyncIterator[None]:
    """Hold the mirror's lock: an asyncio.Lock within this process, then an exclusive flock."""
    async with _process_lock(mirror):
        fd = await _flock(lock_file(mirror))
        try:
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _process_lock(mirror: Path) -> asyncio.Lock:
    per_loop = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(mirror.absolute(), asyncio.Lock())


async def _flock(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    except BaseException:
        os.close(fd)
        raise
    # Another process holds it: wait in a thread so the event loop keeps running.
    waiter = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
    try:
        await asyncio.shield(waiter)
    except asyncio.CancelledError:
        # The thread cannot be stopped; release the lock as soon as it gets it.
        waiter.add_done_callback(lambda _: os.close(fd))
        raise
    except BaseException:
        os.close(fd)
        raise
    return fd
