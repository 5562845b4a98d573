"""A sandbox in a container: a fresh clone (as `git_branch`) bind-mounted at /workspace of a
container per work order, commands run in it with `docker exec`, output streamed.

The container (image SHIPYARD_DOCKER_IMAGE) is made when the first command runs, with no network
(`shipyard-<id>`); a step that says `network: true` runs in a second one that has it
(`shipyard-<id>-net`). Both have memory, CPU and process limits and are removed with the sandbox.
Talks to the engine through the Docker SDK for Python (DOCKER_HOST or SHIPYARD_DOCKER_HOST); what
the engine refuses (an image it cannot get, a container it will not make) is a SandboxError.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound, NotFound

from shipyard.config import Settings
from shipyard.domain.errors import SandboxError
from shipyard.domain.models import Availability, ExecResult, SandboxHandle, SandboxSpec
from shipyard.sandboxes.base import LineCallback, argv_of
from shipyard.sandboxes.git_branch import GitBranchSandbox
from shipyard.sandboxes.lines import Lines

WORKDIR = "/workspace"
CONTAINER_LABEL = "shipyard.work_order_id"  # on every container, naming its work order (gc finds them so)
_STOP_GRACE_S = 2.0
_DEFAULT_ADDRESS = "unix:///var/run/docker.sock"  # where the SDK looks without DOCKER_HOST


@functools.cache
def _client(base_url: str | None) -> docker.DockerClient:
    return docker.DockerClient(base_url=base_url) if base_url else docker.from_env()


def engine(settings: Settings) -> docker.DockerClient:
    """A client of the engine (made once per address); SandboxError when none answers."""
    try:
        return _client(settings.docker_host)
    except DockerException as err:
        raise SandboxError(
            f"no Docker engine answers at {settings.docker_host or 'DOCKER_HOST'}: {err}"
        ) from None


def container_name(work_order_id: str, network: bool) -> str:
    return f"shipyard-{work_order_id}" + ("-net" if network else "")


class DockerWorkspace:
    """Runs each command in the work order's container (made on first use)."""

    def __init__(
        self, settings: Settings, handle: SandboxHandle, network: bool, env: Mapping[str, str] | None
    ) -> None:
        self._settings, self._handle, self._network = settings, handle, network
        self._env = dict(env or {})

    @property
    def path(self) -> Path:
        return Path(self._handle.path)

    async def exec(
        self,
        command: str | Sequence[str],
        *,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        on_line: LineCallback | None = None,
    ) -> ExecResult:
        argv = argv_of(command)
        name = f".shipyard-stdin-{time.monotonic_ns()}"
        if stdin is not None:  # docker exec without an attached stdin: hand it over as a file
            argv = ["bash", "-c", f'trap "rm -f {name}" EXIT; "$@" < {name}', "_", *argv]  # in /workspace
        started = time.monotonic()
        api, cid, exec_id = await self._created(argv, env)
        if stdin is not None:  # written once the exec exists: a refused one leaves no file in the clone
            (self.path / name).write_text(stdin)
        queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        reader = loop.run_in_executor(None, _pump, api, exec_id, queue, loop)
        lines = Lines(on_line)
        timed_out = False
        try:
            async with asyncio.timeout(timeout_s):
                await _collect(queue, lines)
        except TimeoutError:
            timed_out = True
        except BaseException:
            await self.stop(cid)
            raise
        if timed_out:
            await self.stop(cid)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader, _STOP_GRACE_S * 2)
        code = (await asyncio.to_thread(api.exec_inspect, exec_id)).get("ExitCode")
        return ExecResult(
            exit_code=code if isinstance(code, int) else -1,
            stdout=lines.text("stdout"), stderr=lines.text("stderr"),
            duration_s=time.monotonic() - started, timed_out=timed_out,
        )  # fmt: skip

    async def _created(self, argv: list[str], env: Mapping[str, str] | None) -> tuple[Any, str, str]:
        """The engine's API, the container's id and an exec of `argv` made in it, not started."""
        environment = [f"{k}={v}" for k, v in {**self._env, **(env or {})}.items()]
        api = engine(self._settings).api
        try:
            cid = await asyncio.to_thread(self._container)
            made = await asyncio.to_thread(
                api.exec_create, cid, argv, environment=environment, workdir=WORKDIR
            )
        except DockerException as err:  # a refusal, Docker's or podman's: the step fails, saying so
            raise SandboxError(f"the Docker engine could not run the command: {_said(err)}") from None
        return api, cid, made["Id"]

    async def stop(self, cid: str) -> None:
        """End every command running in the container (its first process, which holds it up, stays)."""
        api = engine(self._settings).api
        for signal_name in ("-TERM", "-KILL"):
            with contextlib.suppress(DockerException):
                kill = await asyncio.to_thread(api.exec_create, cid, ["kill", signal_name, "-1"])
                await asyncio.to_thread(api.exec_start, kill["Id"])
            await asyncio.sleep(_STOP_GRACE_S if signal_name == "-TERM" else 0)

    def _container(self) -> str:
        """The id of the running container for this network setting, made if need be."""
        client = engine(self._settings)
        name = container_name(self._handle.work_order_id, self._network)
        try:
            found = client.containers.get(name)
        except NotFound:
            found = _create(client, self._settings, self._handle, name, self._network)
        if found.status != "running":
            found.start()
        return str(found.id)


def _create(
    client: docker.DockerClient, settings: Settings, handle: SandboxHandle, name: str, network: bool
) -> Any:
    image = settings.docker_image
    try:
        client.images.get(image)
    except ImageNotFound:
        repository, _, tag = image.partition(":")
        try:
            client.images.pull(repository, tag=tag or "latest")
        except DockerException as err:
            raise SandboxError(f"image {image} is not on the engine and not pulled: {_said(err)}") from None
    return client.containers.create(
        image, ["sleep", "infinity"], name=name, working_dir=WORKDIR, detach=True,
        volumes={handle.path: {"bind": WORKDIR, "mode": "rw"}},
        network_mode="bridge" if network else "none",
        mem_limit=f"{settings.sandbox_memory_mb}m" if settings.sandbox_memory_mb > 0 else None,
        nano_cpus=int(settings.docker_cpus * 1e9) if settings.docker_cpus > 0 else None,
        pids_limit=settings.docker_pids_limit, labels={CONTAINER_LABEL: handle.work_order_id},
    )  # fmt: skip


def _said(err: DockerException) -> str:
    """What the engine said (an APIError's explanation), not the SDK's nest of reprs around it."""
    return str(getattr(err, "explanation", None) or err)


def _pump(
    api: Any, exec_id: str, queue: asyncio.Queue[tuple[str, bytes] | None], loop: asyncio.AbstractEventLoop
) -> None:
    """In a thread: hand the exec's output over to the loop as it comes, then None."""
    try:
        for out, err in api.exec_start(exec_id, stream=True, demux=True):
            for stream, chunk in (("stdout", out), ("stderr", err)):
                if chunk:
                    loop.call_soon_threadsafe(queue.put_nowait, (stream, chunk))
    finally:
        loop.call_soon_threadsafe(queue.put_nowait, None)


async def _collect(queue: asyncio.Queue[tuple[str, bytes] | None], lines: Lines) -> None:
    while (item := await queue.get()) is not None:
        await lines.feed(*item)
    await lines.close()


class DockerSandbox:
    """A `git_branch` clone whose commands run in the work order's containers."""

    name = "docker"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clone = GitBranchSandbox(settings)

    async def setup(self, spec: SandboxSpec) -> SandboxHandle:
        """Clone the repository onto `spec.branch`; the container comes with the first command."""
        await asyncio.to_thread(engine, self._settings)  # no engine: say so now, not at the first step
        handle = await self._clone.setup(spec)
        return handle.model_copy(update={"sandbox_type": self.name})

    def workspace(
        self, handle: SandboxHandle, network: bool = False, env: Mapping[str, str] | None = None
    ) -> DockerWorkspace:
        """A workspace running commands in the container (the one with the network if `network`)."""
        return DockerWorkspace(self._settings, handle, network, env)

    async def cleanup(self, handle: SandboxHandle) -> None:
        """Remove the containers, then the clone. Safe to call twice."""
        await asyncio.to_thread(self._remove_containers, handle.work_order_id)
        await self._clone.cleanup(handle)

    def _remove_containers(self, work_order_id: str) -> None:
        client = engine(self._settings)
        for network in (False, True):
            with contextlib.suppress(NotFound):
                client.containers.get(container_name(work_order_id, network)).remove(force=True)

    @staticmethod
    def check(settings: Settings) -> Availability:
        """Whether a Docker engine answers (the SDK finds it through DOCKER_HOST or SHIPYARD_DOCKER_HOST)."""
        try:
            probe = (
                docker.DockerClient(base_url=settings.docker_host, timeout=5)
                if settings.docker_host
                else docker.from_env(timeout=5)
            )
            version = probe.version().get("Version", "")
        except DockerException as err:
            return Availability(available=False, reason=_unanswered(settings, err))
        return Availability(available=True, version=f"Docker {version}")


def _unanswered(settings: Settings, err: DockerException) -> str:
    """Why no engine answered, in words: the SDK's own message is a nest of Python reprs."""
    address = settings.docker_host or os.environ.get("DOCKER_HOST") or _DEFAULT_ADDRESS
    if "Permission denied" in str(err) or "PermissionError" in str(err):
        return f"not allowed to reach the Docker engine at {address} (is this user in the docker group?)"
    return f"no Docker engine answers at {address}"
