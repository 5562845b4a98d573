"""Agent CLIs Shipyard installs into its data dir (`shipyard agents install NAME`), and where the
adapters find them.

npm packages share one prefix, `<data_dir>/agents/npm`; a PyPI package gets a venv of its own,
`<data_dir>/agents/<name>`, so that it never touches Shipyard's environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shipyard.agents._util import find_binary
from shipyard.domain.errors import InstallError, InvalidInput

LineCallback = Callable[[str], None]
_TAIL_LINES = 5  # of npm's or pip's output, in the error when it fails
INSTALL_TIMEOUT_S = 15 * 60.0  # one npm or pip run; a registry that stops answering must not hang it


@dataclass(frozen=True)
class InstallableCli:
    """An agent's CLI on a package registry: where it comes from and the binary it puts on disk."""

    name: str
    registry: Literal["npm", "pypi"]
    package: str
    binary: str


# @kilocode/cli 7.x installs `kilo` and `kilocode`, 0.x only `kilocode`.
INSTALLABLE: dict[str, InstallableCli] = {
    cli.name: cli
    for cli in (
        InstallableCli("claude", "npm", "@anthropic-ai/claude-code", "claude"),
        InstallableCli("codex", "npm", "@openai/codex", "codex"),
        InstallableCli("opencode", "npm", "opencode-ai", "opencode"),
        InstallableCli("kilocode", "npm", "@kilocode/cli", "kilocode"),
        InstallableCli("gemini", "npm", "@google/gemini-cli", "gemini"),
        InstallableCli("aider", "pypi", "aider-chat", "aider"),
    )
}


def installable(name: str) -> InstallableCli:
    """The table's entry for agent `name`; InvalidInput naming the installable ones otherwise."""
    cli = INSTALLABLE.get(name)
    if cli is None:
        raise InvalidInput(f"no installable agent {name!r}; installable: {', '.join(INSTALLABLE)}")
    return cli


def cli_path(data_dir: Path, cli: InstallableCli) -> Path:
    """Where `cli`'s binary lands when it is installed into `data_dir`."""
    if cli.registry == "npm":
        return data_dir / "agents" / "npm" / "node_modules" / ".bin" / cli.binary
    return data_dir / "agents" / cli.name / "bin" / cli.binary


def installed_binary(data_dir: Path, name: str) -> str | None:
    """The binary of agent `name` that `shipyard agents install` put into `data_dir`, or None."""
    cli = INSTALLABLE.get(name)
    path = cli_path(data_dir, cli) if cli else None
    return str(path) if path and _executable(path) else None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_agent_binary(data_dir: Path, name: str, configured: str | None = None) -> str | None:
    """Agent `name`'s binary, in this order: `configured` when it is set and is not the table's
    binary name (an explicit choice: a path, or another name on PATH); else the copy installed
    into `data_dir`; else the binary's name on PATH."""
    cli = INSTALLABLE.get(name)
    default = cli.binary if cli else name
    if configured and configured != default:
        return find_binary(configured)
    return installed_binary(data_dir, name) or find_binary(default)


def install(
    cli: InstallableCli,
    data_dir: Path,
    version: str | None = None,
    on_line: LineCallback = print,
    timeout_s: float = INSTALL_TIMEOUT_S,
) -> str:
    """Install `cli` (`version`, else the latest) into `data_dir`, or upgrade or reinstall it;
    the binary's path. `on_line` gets progress lines and the installer's output as it comes.
    InstallError when npm is missing, npm or pip fails (with the tail of its output) or runs
    longer than `timeout_s`, or another install into `data_dir` is running."""
    npm = shutil.which("npm") if cli.registry == "npm" else None
    if cli.registry == "npm" and npm is None:
        raise InstallError(f"{cli.name} comes from npm, and npm is not on PATH: install Node.js (with npm)")
    with _one_install_at_a_time(data_dir):
        if npm is not None:
            _install_npm(cli, data_dir, npm, version, on_line, timeout_s)
        else:
            _install_pypi(cli, data_dir, version, on_line, timeout_s)
    path = cli_path(data_dir, cli)
    if not _executable(path):
        raise InstallError(f"{cli.package} installed, but it has no binary {path}")
    return str(path)


@contextlib.contextmanager
def _one_install_at_a_time(data_dir: Path) -> Iterator[None]:
    """Hold `<data_dir>/agents/.install.lock` (two npm runs in one prefix break each other);
    InstallError at once when another install holds it. The lock goes with the process."""
    lock_path = data_dir / "agents" / ".install.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InstallError(
                f"another `shipyard agents install` is running in {lock_path.parent}; try again when it ends"
            ) from None
        yield


def _install_npm(
    cli: InstallableCli,
    data_dir: Path,
    npm: str,
    version: str | None,
    on_line: LineCallback,
    timeout_s: float,
) -> None:
    prefix = data_dir / "agents" / "npm"
    prefix.mkdir(parents=True, exist_ok=True)
    spec = f"{cli.package}@{version or 'latest'}"
    on_line(f"npm install {spec} into {prefix}")
    _run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", spec], on_line, "npm", timeout_s
    )


def _install_pypi(
    cli: InstallableCli, data_dir: Path, version: str | None, on_line: LineCallback, timeout_s: float
) -> None:
    venv = data_dir / "agents" / cli.name
    python = venv / "bin" / "python"
    if not python.exists():
        on_line(f"creating a virtual environment in {venv}")
        _run([sys.executable, "-m", "venv", str(venv)], on_line, "python -m venv", timeout_s)
    spec = f"{cli.package}=={version}" if version else cli.package
    on_line(f"pip install {spec} into {venv}")
    _run([str(python), "-m", "pip", "install", "--upgrade", spec], on_line, "pip", timeout_s)


def _run(argv: list[str], on_line: LineCallback, what: str, timeout_s: float) -> None:
    """Run an installer, passing its output on; InstallError with the tail of it when it fails,
    or when it runs longer than `timeout_s` (it is killed then)."""
    recent: deque[str] = deque(maxlen=_TAIL_LINES)
    timed_out = threading.Event()
    try:
        with subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:

            def stop() -> None:
                timed_out.set()
                proc.kill()

            watchdog = threading.Timer(timeout_s, stop)
            watchdog.start()
            try:
                assert proc.stdout is not None
                for raw in proc.stdout:
                    if line := raw.rstrip():
                        recent.append(line)
                        on_line(line)
                proc.wait()
            finally:
                watchdog.cancel()
    except OSError as err:
        raise InstallError(f"{what} could not start: {err.strerror}") from err
    if timed_out.is_set():
        raise InstallError(f"{what} did not finish within {timeout_s:g} s and was stopped")
    if proc.returncode != 0:
        raise InstallError(f"{what} failed (exit {proc.returncode}): {' | '.join(recent)}")
