"""A small Docker Engine API on a Unix socket, for the docker sandbox's tests (no engine runs here).

It speaks the wire format of the calls the Docker SDK for Python makes for us: /version, image
inspect and pull (a JSON progress stream), container create, start, inspect and remove, exec
create, start (HTTP 101 "UPGRADED", then stdout and stderr multiplexed in 8-byte-header frames),
list by label
and inspect. A "container" is a record of its create request; its execs run on this machine
with the container's bind mounts mapped back to their host paths, so what a command writes in
/workspace lands in the clone. `kill -TERM -1` inside a container (how Shipyard stops a step)
signals the processes of that container's execs, and no others. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class Exec:
    container: str
    config: dict[str, Any]
    exit_code: int | None = None
    running: bool = False


@dataclass
class Container:
    id: str
    name: str
    config: dict[str, Any]
    running: bool = False
    pids: set[int] = field(default_factory=set)

    def host_path(self, inside: str) -> str:
        """Where a path in the container is on this machine (through its bind mounts)."""
        for bind in self.config.get("HostConfig", {}).get("Binds") or []:
            host, target = bind.split(":")[:2]
            if inside == target or inside.startswith(target.rstrip("/") + "/"):
                return host + inside[len(target) :]
        return inside


class FakeDockerEngine:
    """Serves the API at `socket_path`; `received` lists every request."""

    def __init__(self, socket_path: Path, images: set[str] | None = None) -> None:
        self.socket_path = socket_path
        self.images = set(images or ())
        self.containers: dict[str, Container] = {}
        self.execs: dict[str, Exec] = {}
        self.received: list[Received] = []
        self._server: asyncio.AbstractServer | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    async def __aenter__(self) -> FakeDockerEngine:
        self._server = await asyncio.start_unix_server(self._connection, path=str(self.socket_path))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):  # the SDK keeps connections open for more requests
            writer.close()
        for container in self.containers.values():
            _kill_all(container)

    def created(self) -> list[dict[str, Any]]:
        """The bodies of every container create request."""
        return [r.body for r in self.received if r.method == "POST" and r.path.endswith("/containers/create")]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            while not reader.at_eof():
                request = await _read_request(reader)
                if request is None:
                    break
                self.received.append(request)
                if await self._answer(request, writer):  # the connection was taken over (exec start)
                    break
        self._open.discard(writer)
        writer.close()

    async def _answer(self, r: Received, writer: asyncio.StreamWriter) -> bool:
        path = re.sub(r"^/v[0-9.]+", "", r.path)
        if path in ("/version", "/_ping"):
            _respond(writer, 200, {"ApiVersion": "1.45", "Version": "27.0.0-fake", "Os": "linux"})
        elif m := re.fullmatch(r"/images/(.+)/json", path):
            found = unquote(m.group(1)) in self.images
            _respond(
                writer, 200 if found else 404, {"Id": "sha256:fake"} if found else _error("No such image")
            )
        elif path == "/images/create":
            image = f"{r.query['fromImage'][0]}:{r.query.get('tag', ['latest'])[0]}"
            self.images.add(image)
            _respond_lines(
                writer,
                [{"status": "Pulling from library"}, {"status": f"Downloaded newer image for {image}"}],
            )
        elif path == "/containers/create":
            self._create(r, writer)
        elif path == "/containers/json":
            self._list(r, writer)
        elif m := re.fullmatch(r"/containers/([^/]+)/(start|json|exec)", path):
            self._container_call(m.group(1), m.group(2), r, writer)
        elif m := re.fullmatch(r"/containers/([^/]+)", path):
            self._remove(m.group(1), writer)
        elif m := re.fullmatch(r"/exec/([^/]+)/start", path):
            return await self._start_exec(m.group(1), writer)
        elif m := re.fullmatch(r"/exec/([^/]+)/json", path):
            ex = self.execs.get(m.group(1))
            body = (
                {"ExitCode": ex.exit_code, "Running": ex.running, "ID": m.group(1)}
                if ex
                else _error("no such exec")
            )
            _respond(writer, 200 if ex else 404, body)
        else:
            _respond(writer, 404, _error(f"page not found: {r.method} {path}"))
        await writer.drain()
        return False

    def _create(self, r: Received, writer: asyncio.StreamWriter) -> None:
        image = r.body.get("Image", "")
        if image not in self.images and f"{image}:latest" not in self.images:
            _respond(writer, 404, _error(f"No such image: {image}"))
            return
        cid = secrets.token_hex(32)
        self.containers[cid] = Container(cid, r.query.get("name", [""])[0], r.body)
        _respond(writer, 201, {"Id": cid, "Warnings": []})

    def _list(self, r: Received, writer: asyncio.StreamWriter) -> None:
        wanted = json.loads(r.query.get("filters", ["{}"])[0]).get("label", [])
        listed = [
            {"Id": c.id, "Names": ["/" + c.name], "Labels": c.config.get("Labels") or {},
             "State": "running" if c.running else "created"}
            for c in self.containers.values()
            if all(label.split("=")[0] in (c.config.get("Labels") or {}) for label in wanted)
        ]  # fmt: skip
        _respond(writer, 200, listed)

    def _container_call(self, cid: str, call: str, r: Received, writer: asyncio.StreamWriter) -> None:
        container = self.containers.get(cid) or next(
            (c for c in self.containers.values() if c.name == cid), None
        )
        if container is None:
            _respond(writer, 404, _error(f"No such container: {cid}"))
        elif call == "start":
            container.running = True
            _respond(writer, 204, None)
        elif call == "json":
            state = {"Running": container.running, "Status": "running" if container.running else "created"}
            host_config = container.config.get("HostConfig", {})
            body = {"Id": container.id, "Name": "/" + container.name, "State": state,
                    "Config": container.config, "HostConfig": host_config}  # fmt: skip
            _respond(writer, 200, body)
        elif not container.running:
            _respond(writer, 409, _error(f"Container {cid} is not running"))
        else:
            exec_id = secrets.token_hex(32)
            self.execs[exec_id] = Exec(container.id, r.body)
            _respond(writer, 201, {"Id": exec_id})

    def _remove(self, cid: str, writer: asyncio.StreamWriter) -> None:
        container = self.containers.pop(cid, None)
        if container is None:
            _respond(writer, 404, _error(f"No such container: {cid}"))
            return
        _kill_all(container)
        _respond(writer, 204, None)

    async def _start_exec(self, exec_id: str, writer: asyncio.StreamWriter) -> bool:
        ex = self.execs.get(exec_id)
        if ex is None:
            _respond(writer, 404, _error("no such exec instance"))
            return False
        container = self.containers[ex.container]
        argv = ex.config["Cmd"]
        if argv[:3] == ["kill", "-TERM", "-1"] or argv[:3] == ["kill", "-KILL", "-1"]:
            _kill_all(container, signal.SIGTERM if argv[1] == "-TERM" else signal.SIGKILL)
            argv = ["true"]
        writer.write(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                     b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")  # fmt: skip
        env = dict(item.split("=", 1) for item in ex.config.get("Env") or [])
        cwd = container.host_path(ex.config.get("WorkingDir") or container.config.get("WorkingDir") or "/")
        ex.running = True
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        container.pids.add(proc.pid)
        try:
            await asyncio.gather(_frames(proc.stdout, 1, writer), _frames(proc.stderr, 2, writer))
            ex.exit_code = await proc.wait()
        finally:
            container.pids.discard(proc.pid)
            ex.running = False
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        return True


async def _frames(stream: asyncio.StreamReader | None, number: int, writer: asyncio.StreamWriter) -> None:
    assert stream is not None
    while chunk := await stream.read(4096):
        writer.write(struct.pack(">BxxxL", number, len(chunk)) + chunk)
        with contextlib.suppress(ConnectionError):
            await writer.drain()


def _kill_all(container: Container, sig: int = signal.SIGKILL) -> None:
    for pid in list(container.pids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def _error(message: str) -> dict[str, str]:
    return {"message": message}


def _respond(writer: asyncio.StreamWriter, status: int, body: Any) -> None:
    payload = b"" if body is None else json.dumps(body).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    writer.write(head.encode() + b"Api-Version: 1.45\r\n\r\n" + payload)


def _respond_lines(writer: asyncio.StreamWriter, lines: list[dict[str, Any]]) -> None:
    payload = b"".join(json.dumps(line).encode() + b"\r\n" for line in lines)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    writer.write(head.encode())
    writer.write(payload)


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _ = line.decode().split(" ", 2)
    headers: dict[str, str] = {}
    while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
        key, _, value = raw.decode().partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Received(method, parts.path, parse_qs(parts.query), json.loads(body) if body else None)


@contextlib.asynccontextmanager
async def fake_docker(tmp_path: Path, images: set[str] | None = None) -> AsyncIterator[FakeDockerEngine]:
    """A fake engine listening on `<tmp_path>/docker.sock`."""
    async with FakeDockerEngine(tmp_path / "docker.sock", images) as engine:
        yield engine
