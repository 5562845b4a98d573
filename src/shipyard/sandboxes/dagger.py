"""A sandbox in Dagger containers, through the Dagger SDK (`dagger-io`).

Shipyard's own git work (step commits, progress, diff, push) happens on a clone on the worker's
disk, as with `git_branch`. Each command runs in a new container of SHIPYARD_DAGGER_IMAGE: the
clone, `.git` and all, goes in at /workspace, the command runs there, and /workspace comes back
over the clone, so what the command changed and any commits it made are the clone's. A Dagger
container is an immutable value: what a command leaves outside /workspace is gone at the next.

The engine is found as the SDK finds one: the session of a `dagger run` around the worker
(DAGGER_SESSION_PORT, DAGGER_SESSION_TOKEN), else one the SDK starts itself (it downloads the
Dagger CLI, which runs the engine in Docker). The engine hands over a command's output when the
command has ended, so its lines reach `on_line` then; a command past its timeout is cancelled and
what it changed is lost. Containers have the network: `network: false` does not hold there.
Tested against a fake of the SDK (tests/fakes/dagger_sdk.py), not a real engine.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from dagger import (
    Client,
    ClientConnectionError,
    Config,
    Connection,
    DaggerError,
    ExecError,
    ProvisionError,
    ReturnType,
)

from shipyard.config import Settings
from shipyard.domain.errors import SandboxError
from shipyard.domain.models import Availability, ExecResult, SandboxHandle, SandboxSpec
from shipyard.sandboxes.base import LineCallback, argv_of
from shipyard.sandboxes.git_branch import GitBranchSandbox
from shipyard.sandboxes.lines import Lines

# Where the SDK finds an engine without downloading its CLI: a `dagger run` session, or a CLI.
_ENGINE_VARIABLES = ("DAGGER_SESSION_PORT", "_EXPERIMENTAL_DAGGER_CLI_BIN")
NO_SESSION = (
    "no Dagger engine here: run the worker inside `dagger run` (e.g. `dagger run shipyard serve`),"
    " or set _EXPERIMENTAL_DAGGER_CLI_BIN to a Dagger CLI"
)
WORKDIR = "/workspace"
# Set to a new value for every command: the engine answers an exec it has seen from its cache.
RUN_VARIABLE = "SHIPYARD_RUN_ID"


@asynccontextmanager
async def _engine(doing: str) -> AsyncIterator[Client]:
    """A client of the engine; what the SDK raises, a SandboxError (`doing`: what was asked)."""
    try:
        async with Connection(Config(retry=None)) as client:  # the SDK's default retries for ever
            yield client
    except (ClientConnectionError, ProvisionError) as err:
        raise SandboxError(f"no Dagger engine answers: {err}") from None
    except DaggerError as err:
        raise SandboxError(f"Dagger could not {doing}: {err}") from None


async def _engine_version() -> str:
    async with _engine("say its version") as client:
        return await client.version()


class DaggerWorkspace:
    """Runs each command in a new container holding the clone; the clone takes its tree back."""

    def __init__(self, settings: Settings, handle: SandboxHandle, env: Mapping[str, str] | None) -> None:
        self._image, self._path = settings.dagger_image, Path(handle.path)
        self._env = dict(env or {})

    @property
    def path(self) -> Path:
        return self._path

    async def exec(
        self,
        command: str | Sequence[str],
        *,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        on_line: LineCallback | None = None,
    ) -> ExecResult:
        started = time.monotonic()
        variables = {**self._env, **(env or {}), RUN_VARIABLE: uuid.uuid4().hex}
        timed_out = False
        try:
            async with asyncio.timeout(timeout_s):
                code, out, err = await self._run(argv_of(command), variables, stdin or "")
        except TimeoutError:
            (code, out, err), timed_out = (-1, "", ""), True
        lines = Lines(on_line)
        await lines.feed("stdout", out)
        await lines.feed("stderr", err)
        await lines.close()
        return ExecResult(
            exit_code=code, stdout=lines.text("stdout"), stderr=lines.text("stderr"),
            duration_s=time.monotonic() - started, timed_out=timed_out,
        )  # fmt: skip

    async def _run(self, argv: list[str], env: dict[str, str], stdin: str) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of `argv` run on the clone in a new container; the clone
        takes the container's /workspace back unless a signal ended the command."""
        async with _engine("run the command") as client:
            container = (
                client.container()
                .from_(self._image)
                .with_directory(WORKDIR, client.host().directory(str(self._path)))
                .with_workdir(WORKDIR)
            )
            for name, value in env.items():
                container = container.with_env_variable(name, value)
            try:
                ran = await container.with_exec(argv, stdin=stdin, expect=ReturnType.ANY).sync()
            except ExecError as killed:  # ANY takes exit codes 0-127 and 192-255; not a signal's
                return killed.exit_code, killed.stdout, killed.stderr
            result = await ran.exit_code(), await ran.stdout(), await ran.stderr()
            await ran.directory(WORKDIR).export(str(self._path), wipe=True)
        return result


class DaggerSandbox:
    """A `git_branch` clone whose commands run in Dagger containers."""

    name = "dagger"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clone = GitBranchSandbox(settings)

    async def setup(self, spec: SandboxSpec) -> SandboxHandle:
        """Make sure the engine answers and can get the image, then clone onto `spec.branch`."""
        image = self._settings.dagger_image
        async with _engine(f"get image {image}") as client:  # say so now, not at the first step
            await client.container().from_(image).sync()
        handle = await self._clone.setup(spec)
        return handle.model_copy(update={"sandbox_type": self.name})

    def workspace(
        self, handle: SandboxHandle, network: bool = False, env: Mapping[str, str] | None = None
    ) -> DaggerWorkspace:
        """A workspace running each command in a new container (which always has the network)."""
        return DaggerWorkspace(self._settings, handle, env)

    async def cleanup(self, handle: SandboxHandle) -> None:
        """Delete the clone; the containers were values, nothing of them runs on. Safe to call twice."""
        await self._clone.cleanup(handle)

    @staticmethod
    def check(settings: Settings) -> Availability:
        """Whether a Dagger engine answers (blocking: it connects as the SDK does, and asks its
        version). Only a session (`dagger run`) or a CLI named by the SDK's variable is tried: left
        to itself the SDK would download the Dagger CLI, and this runs on every new-work-order form."""
        if not any(os.environ.get(name) for name in _ENGINE_VARIABLES):
            return Availability(available=False, reason=NO_SESSION)
        try:
            version = asyncio.run(_engine_version())
        except SandboxError as err:
            return Availability(available=False, reason=err.message)
        return Availability(available=True, version=f"Dagger engine {version}")
