"""A sandbox that isolates: a fresh clone (as `git_branch`), and every command run through
bubblewrap with the clone read-write and the rest of the system read-only.

Inside: a private /tmp and /run, an empty home, the data dir hidden (but for the clone), its
own PID, IPC and UTS namespaces (nothing outside can be seen or signalled), no network unless the
step asks for it, CPU-time and address-space limits, the allow-listed environment only, and it
all dies with the worker. Git operations of Shipyard itself (commit, push) run outside, on the clone.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import shipyard
from shipyard.config import Settings
from shipyard.domain.models import Availability, ExecResult, SandboxHandle, SandboxSpec
from shipyard.sandboxes.base import LineCallback, argv_of
from shipyard.sandboxes.git_branch import GitBranchSandbox
from shipyard.sandboxes.workspace import LocalWorkspace


def bwrap_argv(settings: Settings, tree: Path, network: bool) -> list[str]:
    """The bubblewrap command line that runs what follows it inside the sandbox of `tree`."""
    home = Path.home()
    agents = settings.data_dir.absolute() / "agents"
    argv = [
        settings.bwrap_binary,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--tmpfs", "/run",
        "--tmpfs", str(home),
        "--tmpfs", str(settings.data_dir.absolute()),
        "--ro-bind-try", str(agents), str(agents),  # the CLIs `shipyard agents install` put there
        *_own_python(),
        "--bind", str(tree), str(tree),
        "--remount-ro", str(settings.data_dir.absolute()),  # empty and read-only but for the tree
        "--chdir", str(tree),
        "--setenv", "TMPDIR", "/tmp",
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
    ]  # fmt: skip
    if not network:
        argv.append("--unshare-net")
    argv.append("--")
    limits = []
    if settings.sandbox_cpu_s > 0:
        limits.append(f"--cpu={settings.sandbox_cpu_s}")
    if settings.sandbox_memory_mb > 0:
        limits.append(f"--as={settings.sandbox_memory_mb * 1024 * 1024}")
    return argv + (["prlimit", *limits, "--"] if limits else [])


def _own_python() -> list[str]:
    """Binds of Shipyard's own Python and code, which may live under the home directory hidden
    inside: the `acp` agent runs its ACP client there with them."""
    paths = dict.fromkeys([sys.base_prefix, sys.prefix, str(Path(shipyard.__file__).resolve().parent.parent)])
    return [arg for path in paths for arg in ("--ro-bind-try", path, path)]


class BwrapWorkspace:
    """Runs each command in the clone through bubblewrap."""

    def __init__(
        self,
        settings: Settings,
        path: Path | str,
        network: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._local = LocalWorkspace(path, env)
        self._network = network

    @property
    def path(self) -> Path:
        return self._local.path

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
        wrapped = bwrap_argv(self._settings, self.path, self._network) + argv
        return await self._local.exec(wrapped, timeout_s=timeout_s, env=env, stdin=stdin, on_line=on_line)


class BwrapSandbox:
    """A `git_branch` clone whose commands run inside bubblewrap."""

    name = "bwrap"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clone = GitBranchSandbox(settings)

    async def setup(self, spec: SandboxSpec) -> SandboxHandle:
        """Clone the repository onto `spec.branch` (commands run in bubblewrap later)."""
        handle = await self._clone.setup(spec)
        return handle.model_copy(update={"sandbox_type": self.name})

    def workspace(
        self, handle: SandboxHandle, network: bool = False, env: Mapping[str, str] | None = None
    ) -> BwrapWorkspace:
        """A workspace running commands in bubblewrap, with the network only if `network`."""
        return BwrapWorkspace(self._settings, handle.path, network, env)

    async def cleanup(self, handle: SandboxHandle) -> None:
        """Delete the clone; unpushed commits go with it. Safe to call twice."""
        await self._clone.cleanup(handle)

    @staticmethod
    def check(settings: Settings) -> Availability:
        """Whether bubblewrap runs here (it needs user or PID namespaces the host may forbid)."""
        return _check(settings.bwrap_binary)


@functools.cache
def _check(binary: str) -> Availability:
    found = shutil.which(binary)
    if found is None:
        return Availability(
            available=False, reason=f"{binary} not installed (Debian: apt-get install bubblewrap)"
        )
    try:
        done = subprocess.run(
            [found, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-pid", "--unshare-net", "--", "true"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        return Availability(available=False, reason=f"{binary} does not run: {err}")
    if done.returncode != 0:
        return Availability(
            available=False, reason=f"{binary} cannot make a sandbox here: {done.stderr.strip()}"
        )
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return Availability(available=True, version=version)
