"""The mirror cache: one bare clone per repository, refreshed on every use.

Origin's branches are fetched into `refs/remotes/origin/*` (never with `--mirror`, which would
delete the work-order branches that live in the same repository under `refs/heads/`). The
mirror's config holds the URL without credentials, because worktrees share that config with
the agents working in them; fetches name the full URL on the command line instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import time
import uuid
from pathlib import Path

from shipyard.domain.errors import GitError, InvalidInput
from shipyard.gitutil.auth import token_env
from shipyard.gitutil.lock import mirror_lock
from shipyard.gitutil.run import failure, git, redact, run_git, strip_credentials

_ORIGIN_REFSPEC = "+refs/heads/*:refs/remotes/origin/*"
_NETWORK_TIMEOUT_S = 3600.0
_SCP_LIKE = re.compile(r"^[^/]+:")  # user@host:path/repo.git
_UNREADABLE = re.compile(r"[^A-Za-z0-9._-]+")
# When this process's last successful fetch of each mirror began. Work orders that asked for a
# mirror while another fetch of it waited or ran share the next one instead of queueing their own.
_fetch_started: dict[Path, float] = {}


def clone_source(repository_url: str) -> str:
    """What to hand git: URLs as given, local paths made absolute."""
    url = repository_url.strip()
    if "://" in url or _SCP_LIKE.match(url):
        return url
    return str(local_path(url).resolve())


def local_path(text: str) -> Path:
    """A path on this machine as a user wrote it, `~` and `~user` expanded; InvalidInput when the
    home directory it names is unknown (`~nobody-here/app`)."""
    try:
        return Path(text).expanduser()
    except RuntimeError:  # pathlib's way of saying there is no such user or home
        raise InvalidInput(f"{text!r}: no home directory is known for {text.split('/', 1)[0]!r}") from None


def mirror_path(repository_url: str, mirrors_dir: Path) -> Path:
    """Where the bare clone of `repository_url` lives (credentials do not change it)."""
    key = strip_credentials(clone_source(repository_url)).rstrip("/")
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    name = key.rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    readable = _UNREADABLE.sub("-", name).strip("-.")[:40] or "repo"
    return mirrors_dir.absolute() / f"{digest}-{readable}.git"


async def ensure_mirror(repository_url: str, mirrors_dir: Path, *, token: str | None = None) -> Path:
    """Clone `repository_url` bare into the cache the first time, fetch it every time; the path.
    Callers that ask while a fetch is waiting for the lock share the one that runs next.

    With `token`, git logs in to an http(s) `repository_url` with it (see `token_env`).
    """
    mirror = mirror_path(repository_url, mirrors_dir)
    source = clone_source(repository_url)
    env = token_env(token, source) if token else None
    asked = time.monotonic()
    async with mirror_lock(mirror):
        if not _looks_like_repo(mirror):
            await _clone(source, mirror, token)
        elif _fetch_started.get(mirror, -1.0) >= asked:
            return mirror  # a fetch that began after we asked has just ended: it is as fresh
        started = time.monotonic()
        fetch = ("fetch", "--quiet", "--prune", source, _ORIGIN_REFSPEC)
        result = await run_git(*fetch, cwd=mirror, env=env, timeout_s=_NETWORK_TIMEOUT_S)
        if not result.ok:
            raise failure(result, f"cannot fetch repository {redact(source)}", (token,))
        _fetch_started[mirror] = started
    return mirror


async def default_branch(repo: Path, known: tuple[list[str], str | None] | None = None) -> str:
    """The origin's default branch: origin/HEAD or HEAD, else main, master, the first branch.
    `known` is what `origin_branches(repo)` said, when the caller has asked already."""
    branches, origin_head = known or await origin_branches(repo)
    if origin_head in branches:
        return str(origin_head)
    if (name := await head_branch(repo)) in branches:
        return str(name)
    for name in ("main", "master"):
        if name in branches:
            return name
    if branches:
        return branches[0]
    raise GitError(f"repository {repo} has no branches")


async def head_branch(repo: Path) -> str | None:
    """The branch `repo`'s HEAD names (None when detached or unborn). Read from the HEAD file where
    git keeps a plain one (a bare clone's, as the mirrors are: a process fewer per work order), else
    asked of git."""
    text = _head_file(repo)
    if text.startswith("ref: refs/heads/") and text != "ref: refs/heads/.invalid":  # .invalid: reftable's
        return text.removeprefix("ref: refs/heads/")
    result = await run_git("symbolic-ref", "--quiet", "HEAD", cwd=repo)
    return (_short_branch(result.stdout.strip()) or None) if result.ok else None


def _head_file(repo: Path) -> str:
    """What the HEAD file of `repo` (bare, or a working tree with a `.git` directory) says; ""
    where there is no such file."""
    for head in (repo / "HEAD", repo / ".git" / "HEAD"):
        try:
            return head.read_text().strip()
        except (OSError, UnicodeDecodeError):
            continue
    return ""


async def origin_branches(repo: Path) -> tuple[list[str], str | None]:
    """The origin's branch names as last fetched into `refs/remotes/origin/`, sorted, and the one
    origin/HEAD names (None without it): one git call."""
    out = await git("for-each-ref", "--format=%(refname:strip=3) %(symref)", "refs/remotes/origin/", cwd=repo)
    names: list[str] = []
    head = None
    for line in out.splitlines():
        name, _, symref = line.partition(" ")
        if name == "HEAD":
            head = _short_branch(symref) or None
        elif name:
            names.append(name)
    return sorted(names), head


async def remote_branches(repo: Path) -> list[str]:
    """The origin's branch names as last fetched into `refs/remotes/origin/`, sorted."""
    return (await origin_branches(repo))[0]


def _short_branch(ref: str) -> str:
    for prefix in ("refs/remotes/origin/", "refs/heads/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ""


def _looks_like_repo(mirror: Path) -> bool:
    return (mirror / "HEAD").is_file() and (mirror / "objects").is_dir()


async def _clone(source: str, mirror: Path, token: str | None = None) -> None:
    # Clone beside the target and rename it into place, so a crash never leaves half a mirror.
    env = token_env(token, source) if token else None
    await asyncio.to_thread(_clear, mirror)
    staging = mirror.parent / f".{mirror.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        result = await run_git(
            "clone", "--bare", "--quiet", source, str(staging), env=env, timeout_s=_NETWORK_TIMEOUT_S
        )
        if not result.ok:
            raise failure(result, f"cannot clone repository {redact(source)}", (token,))
        await git("config", "remote.origin.url", strip_credentials(source), cwd=staging)
        await git("config", "remote.origin.fetch", _ORIGIN_REFSPEC, cwd=staging)
        staging.rename(mirror)
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)


def _clear(mirror: Path) -> None:
    """Make room for a fresh clone: the parent exists, a broken mirror left by a crash does not."""
    mirror.parent.mkdir(parents=True, exist_ok=True)
    if mirror.exists():
        shutil.rmtree(mirror)
