"""A small async client for the Shipyard API, and how the CLI finds a running server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
from rich.console import Console

from shipyard.cli.server import server_file
from shipyard.config import Settings

IN_PROCESS_URL = "http://shipyard.local"  # the API served inside the CLI over ASGI

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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_server_url(settings: Settings) -> str | None:
    """The URL of a `shipyard serve` running on this data dir, if one is."""
    path = server_file(settings)
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not _pid_alive(int(info.get("pid", 0))):
        return None
    return str(info["url"])


def local_temporal_address(settings: Settings) -> str | None:
    try:
        info = json.loads(server_file(settings).read_text())
    except (OSError, ValueError):
        return None
    return str(info["temporal"]) if _pid_alive(int(info.get("pid", 0))) else None


class ApiClient:
    """Calls the API and turns its `{"error": …}` answers into CliError."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, transport=transport)
        self.base_url = base_url
        self._on_close: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()
        for close in self._on_close:
            await close()

    @classmethod
    async def in_process(cls, settings: Settings) -> ApiClient:
        """The API served inside this process over ASGI, reading the local store (no engine)."""
        from shipyard.api.app import create_app
        from shipyard.service.work_orders import WorkOrderService
        from shipyard.store.store import Store

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await Store.open(settings.resolved_database_url)
        app = create_app(WorkOrderService(settings, store, None))
        client = cls(IN_PROCESS_URL, transport=httpx.ASGITransport(app=app))
        client._on_close.append(store.close)
        return client

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.TransportError as err:
            raise CliError(f"cannot reach the Shipyard server at {self.base_url}: {err}") from err
        if resp.status_code >= 400:
            raise CliError(_error_text(resp), exit_code=2 if resp.status_code < 500 else 1)
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.text

    @contextlib.asynccontextmanager
    async def stream(self, method: str, path: str, after: int = 0) -> AsyncIterator[httpx.Response]:
        """A streaming response (SSE), resuming after event id `after`; API errors as CliError."""
        headers = {"Last-Event-ID": str(after)} if after else {}
        timeout = httpx.Timeout(None, connect=10)
        async with self._http.stream(method, path, headers=headers, timeout=timeout) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                raise CliError(_error_text(resp), exit_code=2 if resp.status_code < 500 else 1)
            yield resp

    async def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return await self.request("GET", path, params=clean)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return await self.request("POST", path, json=body)

    async def patch(self, path: str, body: dict[str, Any]) -> Any:
        return await self.request("PATCH", path, json=body)

    async def delete(self, path: str) -> None:
        await self.request("DELETE", path)


async def api_for(server: str | None) -> ApiClient:
    """The server given or running locally; else the local store read in-process."""
    settings = Settings()
    url = server or local_server_url(settings)
    if url is None:
        return await ApiClient.in_process(settings)
    token = settings.api_token.get_secret_value() if settings.api_token else None
    return ApiClient(url, token)


def _error_text(resp: httpx.Response) -> str:
    try:
        error = resp.json()["error"]
        return f"{error['message']} ({error['code']}, HTTP {resp.status_code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {resp.status_code}: {resp.text[:500]}"


T = TypeVar("T")


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning CliError into one clear line on stderr and an exit code."""

    async def main() -> T:
        return await factory()

    try:
        return asyncio.run(main())
    except CliError as err:
        fail(err)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def fail(err: CliError) -> NoReturn:
    """Print the error as one line on stderr and exit with its code."""
    Console(stderr=True).print(f"[red]error:[/] {err.message}", highlight=False)
    raise typer.Exit(err.exit_code)
