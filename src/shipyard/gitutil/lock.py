"""A read-write lock per mirror, held across coroutines of one process and across processes.

Fetching takes it exclusively: git's connectivity check reads every worktree's HEAD, and one
being added or removed meanwhile makes the fetch fail ("bad object worktrees/…/HEAD"). Adding
and removing worktrees share it: each touches only its own branch and worktree, and git marks
a worktree being added as locked, so a concurrent prune leaves it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

# asyncio primitives belong to one event loop, so the per-path locks are kept per loop.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, _ReadWrite]] = (
    weakref.WeakKeyDictionary()
)


class _ReadWrite:
    """Many holders at once, or one alone; a waiting exclusive holder goes before new shared ones."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0  # exclusive holders waiting

    @contextlib.asynccontextmanager
    async def hold(self, shared: bool) -> AsyncIterator[None]:
        async with self._changed:
            if shared:
                await self._changed.wait_for(lambda: not self._exclusive and not self._waiting)
                self._shared += 1
            else:
                self._waiting += 1
                try:
                    await self._changed.wait_for(lambda: not self._exclusive and not self._shared)
                finally:
                    self._waiting -= 1
                self._exclusive = True
        try:
            yield
        finally:
            async with self._changed:
                if shared:
                    self._shared -= 1
                else:
                    self._exclusive = False
                self._changed.notify_all()


def lock_file(mirror: Path) -> Path:
    """The lock file that sits next to `mirror`."""
    return mirror.parent / f"{mirror.name}.lock"


@contextlib.asynccontextmanager
async def mirror_lock(mirror: Path, *, shared: bool = False) -> AsyncIterator[None]:
    """Hold the mirror's lock (shared or exclusive): within this process, then a flock."""
    async with _process_lock(mirror).hold(shared):
        fd = await _flock(lock_file(mirror), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _process_lock(mirror: Path) -> _ReadWrite:
    per_loop = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(mirror.absolute(), _ReadWrite())


async def _flock(path: Path, mode: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    except BaseException:
        os.close(fd)
        raise
    # Another process holds it: wait in a thread so the event loop keeps running.
    waiter = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, mode))
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
