"""A small async client for the Shipyard API, and how the CLI finds a running server."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from shipyard.cli.common import CliError

if TYPE_CHECKING:
    from shipyard.config import Settings

IN_PROCESS_URL = "http://shipyard.localhost"  # the API served inside the CLI over ASGI (a loopback name)


def server_file(settings: Settings) -> Path:
    """Where a running `shipyard serve` announces itself, so the CLI can find it."""
    return settings.data_dir / "server.json"


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

    async def put(self, path: str, body: Any) -> Any:
        return await self.request("PUT", path, json=body)

    async def patch(self, path: str, body: dict[str, Any]) -> Any:
        return await self.request("PATCH", path, json=body)

    async def delete(self, path: str) -> None:
        await self.request("DELETE", path)


def _error_text(resp: httpx.Response) -> str:
    try:
        error = resp.json()["error"]
        return f"{error['message']} ({error['code']}, HTTP {resp.status_code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {resp.status_code}: {resp.text[:500]}"
