"""Committing a working tree, reading its head, pushing its branch."""

from __future__ import annotations

import os
from pathlib import Path

from shipyard.gitutil.auth import token_env
from shipyard.gitutil.mirror import clone_source
from shipyard.gitutil.run import failure, git, redact, run_git

PHASE_TRAILER = "Shipyard-Phase"
_FALLBACK_IDENTITY = (
    ("user.name", "Shipyard", ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")),
    ("user.email", "shipyard@localhost", ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")),
)
_PUSH_TIMEOUT_S = 3600.0
_LISTED_FILES = 100  # named in a commit message; the rest are counted


async def commit_all(path: Path, message: str, phase: str | None = None) -> str | None:
    """Stage everything and commit it (with a `Shipyard-Phase` trailer); None if nothing changed."""
    await git("add", "--all", cwd=path)
    staged = await run_git("diff", "--cached", "--quiet", cwd=path)
    if staged.ok:
        return None
    if staged.exit_code != 1:
        raise failure(staged)
    # Workflow steps (lint, tests) are explicit; a checkpoint commit must not run user hooks.
    options = await identity_options(path)
    await git(*options, "commit", "--quiet", "--no-verify", "-m", _message(message, phase), cwd=path)
    return await head_sha(path)


async def commit_staged(path: Path, message: str, phase: str | None = None) -> str | None:
    """Commit the index alone, its files listed in the message; None if nothing is staged."""
    out = await git("diff", "--cached", "--name-only", "--no-renames", "-z", cwd=path)
    staged = [name for name in out.split("\0") if name]
    if not staged:
        return None
    options = await identity_options(path)
    text = _message(f"{message.strip()}\n\n{_listing(staged)}", phase)
    await git(*options, "commit", "--quiet", "--no-verify", "-m", text, cwd=path)  # as commit_all
    return await head_sha(path)


async def head_sha(path: Path) -> str:
    """The sha of the commit checked out at `path`."""
    return (await git("rev-parse", "--verify", "HEAD", cwd=path)).strip()


async def push(path: Path, remote_url: str, branch: str, *, token: str | None = None) -> None:
    """Push `refs/heads/<branch>` of the repository at `path` to the same ref at `remote_url`.

    With `token`, git logs in to an http(s) `remote_url` with it (see `token_env`).
    """
    ref = f"refs/heads/{branch}"
    target = clone_source(remote_url)
    env = token_env(token, target) if token else None
    result = await run_git(
        "push", "--quiet", target, f"{ref}:{ref}", cwd=path, env=env, timeout_s=_PUSH_TIMEOUT_S
    )
    if not result.ok:
        raise failure(result, f"cannot push branch {branch!r} to {redact(target)}", (token,))


async def is_git_repo(path: Path) -> bool:
    """Whether `path` is the top of a working tree or a bare repository (not merely inside one)."""
    if not _is_dir(path):
        return False
    # --show-cdup: "" at the top of a working tree, "../" below it, no line at all in a git dir.
    probe = await run_git("rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-cdup", cwd=path)
    if not probe.ok:
        return False
    is_bare, git_dir, *cdup = probe.stdout.splitlines()[:3]
    if is_bare == "true":
        return _same_path(git_dir, path)
    return cdup == [""]


def _is_dir(path: Path) -> bool:
    return path.is_dir()


def _same_path(a: Path | str, b: Path | str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _listing(names: list[str]) -> str:
    shown = [f"- {name}" for name in names[:_LISTED_FILES]]
    if len(names) > _LISTED_FILES:
        shown.append(f"- … and {len(names) - _LISTED_FILES} more")
    return "Left uncommitted by agents:\n" + "\n".join(shown)


def _message(message: str, phase: str | None) -> str:
    text = message.strip() or "Shipyard checkpoint"
    if phase:
        text += f"\n\n{PHASE_TRAILER}: {' '.join(phase.split())}"
    return text


async def identity_options(path: Path) -> list[str]:
    """`-c user.x=…` for each part of the identity that neither git config nor env provides (one
    git call for both parts)."""
    missing = [
        (key, fallback)
        for key, fallback, env_names in _FALLBACK_IDENTITY
        if not all(os.environ.get(name) for name in env_names)
    ]
    if not missing:
        return []
    listed = await run_git("config", "--get-regexp", r"^user\.(name|email)$", cwd=path)
    configured = {
        key for key, _, value in (line.partition(" ") for line in listed.stdout.splitlines()) if value.strip()
    }
    options: list[str] = []
    for key, fallback in missing:
        if key not in configured:
            options += ["-c", f"{key}={fallback}"]
    return options
