"""A fake of the Dagger engine at the SDK's boundary: a stand-in for `dagger.Connection` whose
containers are directories on this machine and whose execs are real processes.

It keeps the SDK's signatures (tests/sandboxes/test_dagger.py compares them) and the behaviour
Shipyard relies on: a container is an immutable value, built lazily and evaluated when a result
is asked for (`sync`, `stdout`, `export`…), each `with_…` giving a new one; an exec the engine
has run before on the same files, environment and arguments is answered from its cache, not run;
`expect` decides which exit codes raise ExecError (ANY: all but 128-191, a signal's); an image
the engine cannot get is a QueryError at evaluation; a client whose connection has closed can no
longer evaluate; an engine that does not answer refuses the connection (ClientConnectionError).
Cancelling an evaluation kills its exec. Commands really run on this machine, so only their
working directory and $HOME are in the container's directory: they must use relative paths.

    engine = FakeDagger(tmp_path / "dagger")
    monkeypatch.setattr(shipyard.sandboxes.dagger, "Connection", engine.sdk)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import shutil
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import gql
from dagger import ClientConnectionError, Config, ExecError, QueryError, ReturnType
from dagger._exceptions import QueryErrorValue

VERSION = "v0.21.11"


@dataclass(frozen=True)
class _State:
    """An evaluated container: its files (never changed once made), settings and last exec."""

    files: Path
    workdir: str = "/"
    env: tuple[tuple[str, str], ...] = ()
    ran: tuple[int, str, str] | None = None  # exit code, stdout, stderr


@dataclass
class FakeDagger:
    """The engine: whether it answers, the images it can get, the execs it really ran."""

    root: Path
    images: set[str] = field(default_factory=lambda: {"python:3.12-bookworm", "alpine:3.20"})
    answers: bool = True
    runs: list[list[str]] = field(default_factory=list, init=False)
    processes: set[asyncio.subprocess.Process] = field(default_factory=set, init=False)
    _cache: dict[str, _State] = field(default_factory=dict, init=False)
    _ids: itertools.count[int] = field(default_factory=itertools.count, init=False)

    def __post_init__(self) -> None:
        self.sdk: type[Connection] = type("Connection", (Connection,), {"engine": self})

    def new_files(self, like: Path | None = None) -> Path:
        made = self.root / f"fs-{next(self._ids)}"
        if like is None:
            (made / "root").mkdir(parents=True)
        else:
            shutil.copytree(like, made, symlinks=True)
        return made

    async def exec(self, state: _State, args: list[str], stdin: str, expect: ReturnType) -> _State:
        key = _digest(state, args, stdin)
        if key not in self._cache:
            files = self.new_files(state.files)
            ran = await self._run(files, state, args, stdin)
            self._cache[key] = replace(state, files=files, ran=ran)
        done = self._cache[key]
        assert done.ran is not None
        if not _expected(expect, done.ran[0]):
            raise _exec_error(args, *done.ran)
        return replace(done, files=self.new_files(done.files))  # later steps must not change the cached one

    async def _run(self, files: Path, state: _State, args: list[str], stdin: str) -> tuple[int, str, str]:
        self.runs.append(args)
        cwd = files / state.workdir.lstrip("/")
        cwd.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(files / "root"),
            **dict(state.env),
        }
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, cwd=cwd, env=env, start_new_session=True, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as err:
            raise _query_error(f"failed to start {args[0]}: {err.strerror}") from None
        self.processes.add(proc)
        try:
            out, err = await proc.communicate(stdin.encode())
        finally:  # what it left running ends with it; cancelled, the exec ends with the request for it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            self.processes.discard(proc)
        code = proc.returncode if proc.returncode is not None else -1
        return (code if code >= 0 else 128 - code), out.decode(), err.decode()


class Connection:
    """`dagger.Connection`: `async with Connection(config) as client`."""

    engine: ClassVar[FakeDagger]

    def __init__(self, config: Config | None = None) -> None:
        self._client: Client | None = None

    async def __aenter__(self) -> Client:
        if not self.engine.answers:
            raise ClientConnectionError("All connection attempts failed")
        self._client = Client(self.engine)
        return self._client

    async def __aexit__(self, *_: object) -> None:
        if self._client is not None:
            self._client.open = False


class Client:
    def __init__(self, engine: FakeDagger) -> None:
        self.engine, self.open = engine, True

    def container(self, *, platform: Any = None) -> Container:
        return Container(self, ())

    def host(self) -> Host:
        return Host(self)

    async def version(self) -> str:
        self._check()
        return VERSION

    def _check(self) -> None:
        if not self.open:
            raise ClientConnectionError("the connection is closed")


class Host:
    def __init__(self, client: Client) -> None:
        self._client = client

    def directory(
        self,
        path: str,
        *,
        exclude: list[str] | None = None,
        include: list[str] | None = None,
        no_cache: bool | None = False,
        gitignore: bool | None = False,
    ) -> Directory:
        assert not (exclude or include or gitignore), "not faked"
        return Directory(self._client, host=Path(path))


class Directory:
    """A directory of the host (read when evaluated) or of a container."""

    def __init__(
        self, client: Client, host: Path | None = None, of: tuple[Container, str] | None = None
    ) -> None:
        self._client, self._host, self._of = client, host, of

    async def _files(self) -> Path:
        self._client._check()
        if self._of is None:
            assert self._host is not None
            return self._host
        container, path = self._of
        return (await container._evaluated()).files / path.lstrip("/")

    async def export(self, path: str, *, wipe: bool | None = False) -> str:
        source = await self._files()
        if wipe:
            shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(source, path, symlinks=True, dirs_exist_ok=True)
        return path


class Container:
    """A value: the calls that make it, evaluated (once) when a result is asked for."""

    def __init__(self, client: Client, calls: tuple[tuple[Any, ...], ...]) -> None:
        self._client, self._calls = client, calls
        self._state: _State | None = None

    def _with(self, *call: Any) -> Container:
        return Container(self._client, (*self._calls, call))

    def from_(self, address: str, *, registry_service: Any = None) -> Container:
        return self._with("from", address)

    def with_directory(
        self,
        path: str,
        source: Directory,
        *,
        exclude: list[str] | None = None,
        include: list[str] | None = None,
        gitignore: bool | None = False,
        owner: str | None = "",
        expand: bool | None = False,
        permissions: int | None = None,
    ) -> Container:
        assert not (exclude or include or gitignore or owner or permissions), "not faked"
        return self._with("directory", path, source)

    def with_workdir(self, path: str, *, expand: bool | None = False) -> Container:
        return self._with("workdir", path)

    def with_env_variable(self, name: str, value: str, *, expand: bool | None = False) -> Container:
        return self._with("env", name, value)

    def with_exec(
        self,
        args: list[str],
        *,
        use_entrypoint: bool | None = False,
        stdin: str | None = "",
        redirect_stdin: str | None = "",
        redirect_stdout: str | None = "",
        redirect_stderr: str | None = "",
        expect: ReturnType | None = ReturnType.SUCCESS,
        experimental_privileged_nesting: bool | None = False,
        insecure_root_capabilities: bool | None = False,
        expand: bool | None = False,
        no_init: bool | None = False,
    ) -> Container:
        assert not (redirect_stdin or redirect_stdout or redirect_stderr), "not faked"
        return self._with("exec", list(args), stdin or "", expect or ReturnType.SUCCESS)

    def directory(self, path: str, *, expand: bool | None = False) -> Directory:
        return Directory(self._client, of=(self, path))

    async def sync(self) -> Container:
        await self._evaluated()
        return self

    async def stdout(self) -> str:
        return (await self._last())[1]

    async def stderr(self) -> str:
        return (await self._last())[2]

    async def exit_code(self) -> int:
        return (await self._last())[0]

    async def _last(self) -> tuple[int, str, str]:
        ran = (await self._evaluated()).ran
        if ran is None:
            raise _query_error("no command has been set")
        return ran

    async def _evaluated(self) -> _State:
        self._client._check()
        if self._state is None:
            state = _State(self._client.engine.new_files())
            for call in self._calls:
                state = await self._apply(state, *call)
            self._state = state
        return self._state

    async def _apply(self, state: _State, kind: str, *args: Any) -> _State:
        engine = self._client.engine
        if kind == "from":
            if args[0] not in engine.images:
                raise _query_error(f"failed to resolve source metadata for {args[0]}: not found")
            return _State(engine.new_files())
        if kind == "directory":
            files = engine.new_files(state.files)
            shutil.copytree(
                await args[1]._files(), files / args[0].lstrip("/"), symlinks=True, dirs_exist_ok=True
            )
            return replace(state, files=files)
        if kind == "workdir":
            return replace(state, workdir=args[0])
        if kind == "env":
            return replace(state, env=(*[kv for kv in state.env if kv[0] != args[0]], (args[0], args[1])))
        return await engine.exec(state, *args)


def _digest(state: _State, args: list[str], stdin: str) -> str:
    """What the engine caches an exec by: the files it starts on, its settings and its arguments."""
    h = hashlib.sha256(repr((state.workdir, state.env, args, stdin)).encode())
    for path in sorted(state.files.rglob("*")):
        h.update(str(path.relative_to(state.files)).encode() + oct(path.lstat().st_mode).encode())
        if path.is_symlink():
            h.update(os.readlink(path).encode())
        elif path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def _expected(expect: ReturnType, code: int) -> bool:
    if expect == ReturnType.SUCCESS:
        return code == 0
    signalled = 128 <= code <= 191
    return not signalled and (expect == ReturnType.ANY or code != 0)


def _query_error(message: str, **extensions: Any) -> QueryError:
    return QueryError(
        [QueryErrorValue(message, extensions=extensions)], gql.gql("query { container { id } }")
    )


def _exec_error(args: list[str], code: int, out: str, err: str) -> QueryError:
    message = f'process "{" ".join(args)}" did not complete successfully: exit code: {code}'
    error = _query_error(message, _type="EXEC_ERROR", cmd=args, exitCode=code, stdout=out, stderr=err)
    assert isinstance(error, ExecError)
    return error
