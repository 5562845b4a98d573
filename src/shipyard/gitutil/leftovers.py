"""What steps leave uncommitted, and which of it may reach the branch.

An agent's changes are kept, a command's are not: around each `run` step, what it changed and left
uncommitted is noted with a hash of each file (`uncommitted` before, `note_command_leftovers`
after), and the commit at the end (`commit_leftovers`) takes every change but those still exactly
as a command left them, so a test run's output never lands in the pull request while an agent's
edits, even to files a command touched before, do.
New files in well-known caches and build output are left out too, unless the repository tracks
files there already; changes to tracked files always count.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
from pathlib import Path, PurePosixPath

from shipyard.gitutil.commit import commit_staged
from shipyard.gitutil.run import git

CACHE_DIRS = frozenset({
    "__pycache__", "node_modules", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
    ".tox", ".nox", ".venv", "venv", ".eggs", "dist", "build", "htmlcov", ".next", ".parcel-cache",
    ".gradle", "target",
})  # fmt: skip
CACHE_FILES = ("*.pyc", "*.pyo", ".coverage", ".coverage.*", ".DS_Store")
_LITERAL = ("--literal-pathspecs",)  # file names are names, not patterns (a file may be called `*`)
_HASHED_BYTES = 8 << 20  # a bigger file is known by its size and mtime: hashing it each step costs
_RECORD = "shipyard-command-leftovers.json"  # in the working tree's git dir, never committed


Fingerprints = dict[str, str | None]  # file name → a hash of its content, None if deleted


async def uncommitted(path: Path) -> Fingerprints:
    """What differs from HEAD now (new caches aside), each file by a hash of its content."""
    changed = [name for untracked, name in await _changes(path) if not (untracked and is_cache(name))]
    return await asyncio.to_thread(_fingerprints, path, changed)


async def note_command_leftovers(path: Path, before: Fingerprints) -> None:
    """Remember what a command changed (`before`: `uncommitted` as it started), as it left it."""
    after = await uncommitted(path)
    file = await _record_file(path)
    record = await _read_record(file)
    record.update({name: print_ for name, print_ in after.items() if before.get(name, "") != print_})
    await asyncio.to_thread(file.write_text, json.dumps(record))


async def commit_leftovers(path: Path, message: str, phase: str | None = None) -> str | None:
    """Commit what agents left, not what commands left nor new caches; None if that is nothing."""
    changes = await _changes(path)
    if not changes:  # nothing changed, staged or not: nothing to take
        return None
    record = await _read_record(await _record_file(path))
    now = await asyncio.to_thread(_fingerprints, path, [name for name in record])
    fresh = [(untracked, name) for untracked, name in changes if record.get(name, "") != now.get(name)]
    tracked = await _tracked_folders(path, {_cache_folder(name) for _, name in fresh})
    take = [name for untracked, name in fresh if not (untracked and _skipped(name, tracked))]
    await git("reset", "--quiet", cwd=path)  # what a command staged is not taken either
    if take:
        names = "".join(f"{name}\0" for name in take)
        add = ("add", "--all", "--pathspec-from-file=-", "--pathspec-file-nul")
        await git(*_LITERAL, *add, cwd=path, stdin=names)
    return await commit_staged(path, message, phase)


def is_cache(name: str) -> bool:
    """Whether `name` (relative, `/`-separated) lies in a well-known cache or build output."""
    filename = PurePosixPath(name).name
    return _cache_folder(name) is not None or any(fnmatch.fnmatchcase(filename, p) for p in CACHE_FILES)


def _skipped(name: str, tracked_folders: set[str | None]) -> bool:
    return is_cache(name) and (_cache_folder(name) is None or _cache_folder(name) not in tracked_folders)


def _cache_folder(name: str) -> str | None:
    """The outermost cache or build folder `name` lies in, if any."""
    parts = PurePosixPath(name).parts
    for n, part in enumerate(parts[:-1]):
        if part in CACHE_DIRS or part.endswith(".egg-info"):
            return "/".join(parts[: n + 1])
    return None


async def _changes(path: Path) -> list[tuple[bool, str]]:
    """(untracked?, name) of every file that differs from HEAD or is new (ignored files aside)."""
    out = await git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", cwd=path)
    return [(entry[:2] == "??", entry[3:]) for entry in out.split("\0") if entry]


async def _tracked_folders(path: Path, folders: set[str | None]) -> set[str | None]:
    """Those of `folders` the repository tracks files in (one git call for all)."""
    wanted = sorted(f for f in folders if f)
    if not wanted:
        return set()
    tracked = await git(*_LITERAL, "ls-files", "-z", "--", *wanted, cwd=path)
    return {_cache_folder(name) for name in tracked.split("\0") if name} & set(wanted)


def _fingerprints(path: Path, names: list[str]) -> Fingerprints:
    """A hash of each file's content (of a link's target; None for a file that is gone)."""
    found: Fingerprints = {}
    for name in names:
        file = path / name
        if file.is_symlink():
            found[name] = "link:" + str(file.readlink())
        elif file.is_file() and file.stat().st_size > _HASHED_BYTES:
            found[name] = f"stat:{file.stat().st_size}:{file.stat().st_mtime_ns}"
        elif file.is_file():
            found[name] = hashlib.sha256(file.read_bytes()).hexdigest()
        else:
            found[name] = None if not file.exists() else "other"
    return found


async def _record_file(path: Path) -> Path:
    return (
        await asyncio.to_thread(_git_dir, path)
        or path / (await git("rev-parse", "--git-path", _RECORD, cwd=path)).strip()
    )


def _git_dir(path: Path) -> Path | None:
    """The record's place in the working tree's git dir, read as git reads it: `.git` is that dir,
    or (a linked worktree) a file saying `gitdir: <dir>`. None for anything else (git is asked)."""
    dot_git = path / ".git"
    if dot_git.is_dir():
        return dot_git / _RECORD
    try:
        text = dot_git.read_text()
    except OSError:
        return None
    if not text.startswith("gitdir: "):
        return None
    return (path / text.removeprefix("gitdir: ").strip()) / _RECORD


async def _read_record(file: Path) -> Fingerprints:
    text = await asyncio.to_thread(file.read_text) if file.exists() else "{}"
    record: Fingerprints = json.loads(text)
    return record
