"""Doorbell: wakes the readers of the event log when an event is appended.

Appends in this process ring it directly; with PostgreSQL a LISTEN connection rings it for
appends made anywhere else (another `shipyard serve`, a worker on another machine). With SQLite
(on Linux) each append also sends the work order's id as a datagram to an abstract Unix socket
named after the database file, where the serving process listens: worker processes on the same
machine ring its readers at once. Anything missed is found by the readers' short poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import sys
from pathlib import Path

import structlog
from sqlalchemy.engine import URL

log = structlog.get_logger()

CHANNEL = "shipyard_events"  # NOTIFY channel; the payload is the work order's id
RECONNECT_S = 1.0


class Doorbell:
    """Wakes whoever waits for one work order's next event, or for anyone's (key None).

    A reader takes a ticket *before* it queries, then waits on the ticket: an event appended
    between its query and its wait still wakes it.
    """

    def __init__(self) -> None:
        self._tickets: dict[str | None, asyncio.Event] = {}

    def ticket(self, key: str | None) -> asyncio.Event:
        return self._tickets.setdefault(key, asyncio.Event())

    def forget(self, key: str | None) -> None:
        """Drop the ticket of a key nobody waits for any more."""
        self._tickets.pop(key, None)

    def ring(self, work_order_id: str) -> None:
        """A work order's event was appended: wake its readers and those of everyone's."""
        for key in (work_order_id, None):
            self.wake(key)

    def wake(self, key: str | None) -> None:
        """Wake whoever waits on `key` alone."""
        ticket = self._tickets.pop(key, None)
        if ticket is not None:
            ticket.set()


async def wait(ticket: asyncio.Event, timeout_s: float) -> None:
    """Until the ticket is rung or `timeout_s` passes."""
    # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that arrives as the
    # ticket is rung, and a reader that cannot be cancelled never stops.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await ticket.wait()


async def listen(url: URL, bell: Doorbell) -> None:
    """Ring `bell` for every NOTIFY on CHANNEL, reconnecting when the connection drops.

    Runs until cancelled.
    """
    import asyncpg  # only PostgreSQL deployments need it loaded

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        connection = None
        try:
            connection = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _c, lost=lost: lost.set())
            await connection.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: bell.ring(payload))
            await lost.wait()
            log.warning("event_listener_lost", retry_in_s=RECONNECT_S)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("event_listener_failed", error=type(exc).__name__, retry_in_s=RECONNECT_S)
        finally:
            if connection is not None and not connection.is_closed():
                await connection.close()
        await asyncio.sleep(RECONNECT_S)


def bell_address(url: URL) -> bytes | None:
    """The abstract Unix socket that carries a SQLite file's appends to its readers in other
    processes; None where there is no such socket (not Linux, an in-memory database)."""
    if not sys.platform.startswith("linux") or not url.database or url.database == ":memory:":
        return None
    digest = hashlib.sha1(str(Path(url.database).resolve()).encode()).hexdigest()[:20]
    return b"\0shipyard-bell-" + digest.encode()


class BellSender:
    """Sends each append's work order id to the bell's listener, if one listens; never blocks or raises."""

    def __init__(self, address: bytes) -> None:
        self._address = address
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def ring(self, work_order_id: str) -> None:
        with contextlib.suppress(OSError):  # nobody listens, or its queue is full: readers poll
            self._sock.sendto(work_order_id.encode(), self._address)

    def close(self) -> None:
        self._sock.close()


async def listen_for_bells(address: bytes, bell: Doorbell) -> None:
    """Ring `bell` for every datagram on `address` until cancelled. One process per database
    listens; when another already does, this one's readers rely on their poll."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        log.info("event_bell_taken", note="another process listens; this one's event streams poll")
        return
    sock.setblocking(False)

    def drain() -> None:
        while True:
            try:
                bell.ring(sock.recv(256).decode(errors="replace"))
            except BlockingIOError:
                return

    loop = asyncio.get_running_loop()
    loop.add_reader(sock.fileno(), drain)
    try:
        await asyncio.Event().wait()  # until cancelled
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
