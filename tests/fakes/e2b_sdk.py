"""A fake of the E2B service at the SDK's boundary: a stand-in for `e2b.AsyncSandbox` whose
sandboxes are directories on this machine and whose commands are real `bash` processes.

It keeps the SDK's signatures and behaviour where Shipyard relies on them: `create` / `connect`
check the API key (AuthenticationException) and the template; `connect` to a killed or unknown
sandbox raises SandboxNotFoundException; `commands.run` hands output to `on_stdout` / `on_stderr`
in chunks that do not follow line ends, raises CommandExitException on a non-zero exit (in
`wait()` for a background command), TimeoutException past `timeout` (0: none); `kill()` of a
command sends SIGKILL; `files.read(format="bytes")` gives a bytearray; `AsyncSandbox.kill(id)`
says whether there was a sandbox to kill. Commands really run on this machine, so only their
working directory and $HOME are translated into the sandbox's directory: scripts must use
relative paths (Shipyard's do).

    service = FakeE2B(tmp_path / "e2b", api_key="e2b_k3y")
    monkeypatch.setattr(shipyard.sandboxes.e2b, "AsyncSandbox", service.sdk)
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import inspect
import itertools
import os
import shutil
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from e2b import (
    AuthenticationException,
    CommandExitException,
    CommandResult,
    FileNotFoundException,
    NotFoundException,
    SandboxException,
    SandboxNotFoundException,
    TimeoutException,
)

Handler = Callable[[str], Awaitable[None] | None]
_CHUNK = 7  # bytes per output chunk: small, so lines arrive in pieces


@dataclass
class FakeVM:
    sandbox_id: str
    root: Path  # the sandbox's "/"
    template: str
    template_env: dict[str, str]
    metadata: dict[str, str]
    timeout: int | None
    alive: bool = True
    commands: list[dict[str, Any]] = field(default_factory=list)  # every command run, with envs
    processes: set[asyncio.subprocess.Process] = field(default_factory=set)

    def local(self, path: str) -> Path:
        if not path.startswith("/"):
            raise SandboxException(f"path must be absolute: {path}")
        return self.root / path.lstrip("/")


class FakeE2B:
    """The service: its API key, templates and sandboxes; `sdk` is the AsyncSandbox to use."""

    def __init__(self, root: Path, api_key: str, templates: dict[str, dict[str, str]] | None = None) -> None:
        # template name -> what it sets in every command's environment ("no-git": no PATH to git)
        self.templates = templates or {"base": {}, "no-git": {"PATH": "/nonexistent"}}
        self.root, self.api_key = root, api_key
        self.vms: dict[str, FakeVM] = {}
        self._ids = itertools.count(1)
        self.sdk: type[FakeAsyncSandbox] = type("AsyncSandbox", (FakeAsyncSandbox,), {"service": self})

    @property
    def alive(self) -> list[str]:
        return [vm.sandbox_id for vm in self.vms.values() if vm.alive]

    def authorise(self, api_key: str | None) -> None:
        if api_key != self.api_key:
            raise AuthenticationException("Invalid API key")

    def vm(self, sandbox_id: str) -> FakeVM:
        vm = self.vms.get(sandbox_id)
        if vm is None or not vm.alive:
            raise SandboxNotFoundException(f"Sandbox {sandbox_id} not found")
        return vm

    def new_vm(self, template: str, metadata: dict[str, str], timeout: int | None) -> FakeVM:
        if template not in self.templates:
            raise NotFoundException(f"404: template '{template}' not found")
        sandbox_id = f"i{next(self._ids):04d}fake{len(self.vms)}"
        root = self.root / sandbox_id
        (root / "home" / "user").mkdir(parents=True)
        vm = FakeVM(sandbox_id, root, template, self.templates[template], metadata, timeout)
        self.vms[sandbox_id] = vm
        return vm

    async def kill(self, sandbox_id: str) -> bool:
        vm = self.vms.get(sandbox_id)
        if vm is None or not vm.alive:
            return False
        vm.alive = False
        for proc in list(vm.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(shutil.rmtree, vm.root, True)
        return True


class FakeAsyncSandbox:
    service: ClassVar[FakeE2B]

    def __init__(self, vm: FakeVM) -> None:
        self._vm = vm
        self.sandbox_id = vm.sandbox_id
        self.commands = _Commands(vm)
        self.files = _Files(vm)

    @classmethod
    async def create(
        cls,
        template: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 (the SDK's name: the sandbox's lifetime)
        metadata: dict[str, str] | None = None,
        envs: dict[str, str] | None = None,
        api_key: str | None = None,
        **opts: Any,
    ) -> FakeAsyncSandbox:
        cls.service.authorise(api_key)
        return cls(cls.service.new_vm(template or "base", dict(metadata or {}), timeout))

    @classmethod
    async def connect(
        cls,
        sandbox_id: str,
        timeout: int | None = None,  # noqa: ASYNC109 (the SDK's name: the sandbox's lifetime)
        api_key: str | None = None,
        **opts: Any,
    ) -> FakeAsyncSandbox:
        cls.service.authorise(api_key)
        return cls(cls.service.vm(sandbox_id))

    @classmethod
    def list(
        cls, query: Any = None, limit: int | None = None, api_key: str | None = None, **opts: Any
    ) -> _Pages:
        """Running sandboxes whose metadata holds all of `query.metadata`, `limit` to a page."""
        cls.service.authorise(api_key)
        wanted = (query.metadata if query is not None else None) or {}
        infos = [
            _Info(vm.sandbox_id, dict(vm.metadata))
            for vm in cls.service.vms.values()
            if vm.alive and wanted.items() <= vm.metadata.items()
        ]
        return _Pages(infos, limit or 2)

    @classmethod
    async def kill(cls, sandbox_id: str, api_key: str | None = None, **opts: Any) -> bool:
        cls.service.authorise(api_key)
        return await cls.service.kill(sandbox_id)


@dataclass
class _Info:  # the fields of e2b.SandboxInfo that callers read
    sandbox_id: str
    metadata: dict[str, str]


class _Pages:  # e2b.AsyncSandboxPaginator: `has_next`, then `await next_items()`
    def __init__(self, infos: list[_Info], limit: int) -> None:
        self._infos, self._limit = infos, limit
        self.has_next = True

    async def next_items(self, **opts: Any) -> list[_Info]:
        if not self.has_next:
            raise SandboxException("no more items to fetch")
        page, self._infos = self._infos[: self._limit], self._infos[self._limit :]
        self.has_next = bool(self._infos)
        return page


class _Files:
    def __init__(self, vm: FakeVM) -> None:
        self._vm = vm

    async def read(self, path: str, format: str = "text", **opts: Any) -> str | bytearray:
        target = self._vm.local(path)
        if not target.is_file():
            raise FileNotFoundException(f"file '{path}' not found")
        data = target.read_bytes()
        return bytearray(data) if format == "bytes" else data.decode()

    async def write(self, path: str, data: str | bytes, **opts: Any) -> None:
        target = self._vm.local(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)


class _Commands:
    def __init__(self, vm: FakeVM) -> None:
        self._vm = vm

    async def run(
        self,
        cmd: str,
        background: bool | None = None,
        envs: dict[str, str] | None = None,
        user: str | None = None,
        cwd: str | None = None,
        on_stdout: Handler | None = None,
        on_stderr: Handler | None = None,
        stdin: bool | None = None,
        timeout: float | None = 60,  # noqa: ASYNC109 (the SDK's signature)
        request_timeout: float | None = None,
    ) -> Any:
        vm = self._vm
        workdir = vm.local(cwd or "/home/user")
        if not workdir.is_dir():
            raise SandboxException(f"cwd '{cwd}' does not exist")
        vm.commands.append({"cmd": cmd, "envs": dict(envs or {}), "cwd": cwd, "background": bool(background)})
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(vm.local("/home/user"))}
        env |= vm.template_env
        proc = await asyncio.create_subprocess_exec(
            "/bin/bash", "-c", cmd, cwd=workdir, env={**env, **(envs or {})}, start_new_session=True,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        vm.processes.add(proc)
        handle = _CommandHandle(vm, proc, on_stdout, on_stderr, timeout or None)
        return handle if background else await handle.wait()


class _CommandHandle:
    def __init__(
        self,
        vm: FakeVM,
        proc: asyncio.subprocess.Process,
        on_stdout: Handler | None,
        on_stderr: Handler | None,
        timeout: float | None,
    ) -> None:
        self._vm, self._proc, self.pid = vm, proc, proc.pid
        self._outs: list[str] = []
        self._errs: list[str] = []
        assert proc.stdout is not None and proc.stderr is not None
        both = asyncio.gather(
            _pump(proc.stdout, self._outs, on_stdout), _pump(proc.stderr, self._errs, on_stderr), proc.wait()
        )
        self._done = asyncio.ensure_future(asyncio.wait_for(both, timeout))

    async def wait(self) -> CommandResult[str]:
        try:
            await asyncio.shield(self._done)
        except TimeoutError:
            await self.kill()
            raise TimeoutException("context deadline exceeded: the command ran past its timeout") from None
        finally:
            self._vm.processes.discard(self._proc)
        code = self._proc.returncode if self._proc.returncode is not None else -1
        result = {
            "stdout": "".join(self._outs),
            "stderr": "".join(self._errs),
            "exit_code": code,
            "error": None,
        }
        if code != 0:
            raise CommandExitException(**result)
        return CommandResult(**result)

    async def kill(self) -> bool:
        if self._proc.returncode is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        return True


async def _pump(stream: asyncio.StreamReader, kept: list[str], handler: Handler | None) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    while chunk := await stream.read(_CHUNK):
        text = decoder.decode(chunk)
        if not text:
            continue
        kept.append(text)
        if handler is not None:
            called = handler(text)
            if inspect.isawaitable(called):
                await called
