"""Running git: one coroutine that returns stdout, or raises GitError carrying git's stderr."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.domain.errors import GitError

# Git must never wait for a password or a passphrase: no terminal prompt, and (with a new
# session below) no controlling terminal for ssh to open either. English messages keep the
# output we parse (`--shortstat`) stable.
_FIXED_ENV = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C"}
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization:\s*(?:\w+\s+)?)[^\s'\"]+")
_STDERR_LIMIT_CHARS = 4000


@dataclass(frozen=True)
class GitResult:
    """The outcome of one git command."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with URL credentials, Authorization header values and `secrets` replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _AUTH_HEADER.sub(r"\1***", _URL_CREDENTIALS.sub("***@", text))


def strip_credentials(url: str) -> str:
    """`url` without its user and password, fit to be stored where a sandbox can read it."""
    return _URL_CREDENTIALS.sub("", url)


def describe(args: tuple[str, ...] | list[str]) -> str:
    """The command line of `git *args`, quoted and with URL credentials redacted."""
    return redact(shlex.join(["git", *args]))


async def run_git(
    *args: str,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 300,
    stdin: str | None = None,
) -> GitResult:
    """Run git (given `stdin`) and return its exit code and output; GitError only if it cannot run."""
    if cwd is not None and not _is_dir(cwd):
        raise GitError(f"{describe(args)}: directory {cwd} does not exist")
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env={**os.environ, **(env or {}), **_FIXED_ENV},
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    try:
        given = None if stdin is None else stdin.encode()
        out, err = await asyncio.wait_for(proc.communicate(given), timeout_s)
    except TimeoutError:
        await _kill(proc)
        raise GitError(f"{describe(args)} timed out after {timeout_s:g} s") from None
    except BaseException:
        await _kill(proc)
        raise
    return GitResult(args, proc.returncode or 0, _decode(out), _decode(err))


async def git(
    *args: str,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 300,
    stdin: str | None = None,
) -> str:
    """Run git and return its stdout; a non-zero exit raises GitError with command and stderr."""
    result = await run_git(*args, cwd=cwd, env=env, timeout_s=timeout_s, stdin=stdin)
    if not result.ok:
        raise failure(result)
    return result.stdout


def failure(result: GitResult, context: str = "", secrets: Iterable[str | None] = ()) -> GitError:
    """A GitError naming the failed command, its exit code and git's stderr, `secrets` masked."""
    hidden = tuple(secrets)
    # Masked before it is cut short, so no tail of a secret survives the cut.
    stderr = redact(result.stderr.strip(), hidden)[-_STDERR_LIMIT_CHARS:] or "(no output)"
    prefix = f"{context}: " if context else ""
    message = f"{prefix}{describe(result.args)} failed (exit {result.exit_code}): {stderr}"
    return GitError(redact(message, hidden))


def _is_dir(path: Path | str) -> bool:
    return Path(path).is_dir()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    # Git spawns helpers (ssh, remote-https, index-pack): kill its whole process group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(proc.wait(), 5)
