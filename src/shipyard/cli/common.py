"""What every command shares, cheap to import: Typer and the standard library only.

Every CLI module is imported to build `shipyard --help`, and `shipyard report` runs inside every
sandbox step, so modules here import Rich, httpx, the settings and the engine inside the command
that needs them, never at the top.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from shipyard.cli.client import ApiClient
    from shipyard.config import Settings

ServerOpt = Annotated[
    str | None,
    typer.Option("--server", envvar="SHIPYARD_SERVER", help="API URL of a Shipyard server."),
]


class CliError(Exception):
    """A failure to show the user as one clear line (exit code 1 or 2)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def settings() -> Settings:
    """The settings of this invocation (environment, then shipyard.toml)."""
    from shipyard.config import Settings

    return Settings()


@functools.cache
def console() -> Console:
    """Standard output, through Rich (made on first use)."""
    from rich.console import Console

    return Console()


@functools.cache
def err_console() -> Console:
    """Standard error, through Rich (made on first use)."""
    from rich.console import Console

    return Console(stderr=True)


async def api_for(server: str | None) -> ApiClient:
    """The server given or running locally; else the local store read in-process."""
    from shipyard.cli.client import ApiClient, local_server_url

    s = settings()
    url = server or local_server_url(s)
    if url is None:
        return await ApiClient.in_process(s)
    token = s.api_token.get_secret_value() if s.api_token else None
    return ApiClient(url, token)


T = TypeVar("T")


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning CliError into one clear line on stderr and an exit code."""
    import asyncio

    async def main() -> T:
        return await factory()

    try:
        with children_watched_on_the_loop():
            return asyncio.run(main())
    except CliError as err:
        fail(err)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@contextlib.contextmanager
def children_watched_on_the_loop() -> Iterator[None]:
    """While it lasts, asyncio waits for its subprocesses on the event loop, through a pidfd (Linux
    5.3 on), as Python 3.12 does by itself: 3.11 starts a thread per subprocess to wait for it, and
    a work order runs about a dozen git processes. Only from the main thread, where asyncio.run
    attaches the watcher to its loop; the one before is put back after."""
    import asyncio
    import os
    import sys
    import threading

    usable = (
        sys.version_info < (3, 12)
        and hasattr(os, "pidfd_open")
        and threading.current_thread() is threading.main_thread()
    )
    if usable:
        try:
            os.close(os.pidfd_open(os.getpid()))
        except OSError:  # a kernel, or a seccomp filter, without pidfds: keep the threads
            usable = False
    if not usable:
        yield
        return
    previous = asyncio.get_child_watcher()
    asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
    try:
        yield
    finally:
        asyncio.set_child_watcher(previous)


def fail(err: CliError) -> NoReturn:
    """Print the error as one line on stderr and exit with its code."""
    from rich.console import Console
    from rich.markup import escape

    # Escaped: a message may quote `[...]` that Rich would take as markup; soft-wrapped: one line.
    Console(stderr=True).print(f"[red]error:[/] {escape(err.message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(err.exit_code)
