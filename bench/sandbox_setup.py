"""Sandbox setup: the time `Sandbox.setup()` takes for `git_worktree` (bare mirror cached; its cold
first setup, which makes the mirror, apart), `git_branch` (a fresh clone) and `bwrap` (a fresh clone,
then every command in bubblewrap, so its first `true` is timed too, beside one outside it), called
through the Python API on a repository of 5,000 files and 2,000 commits, the sandboxes taken in turn;
then how warm `git_worktree` and `git_branch` setups grow from 500 to 50,000 files (200 commits).

Repositories are local, non-bare, on `main`, written in one `git fast-import` stream: files of a few
lines, 50 to a directory, added evenly over the commits, each commit also changing one older file.
Clones of a local path hard-link its objects, so a remote repository costs more than these figures.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import summary
from shipyard.config import Settings
from shipyard.domain.ids import branch_name, is_work_order_id
from shipyard.domain.models import SandboxHandle, SandboxSpec
from shipyard.sandboxes.base import Sandbox
from shipyard.sandboxes.bwrap import BwrapSandbox
from shipyard.sandboxes.registry import build_sandbox

FILES = 5_000
COMMITS = 2_000
GROWTH_COMMITS = 200
GROWTH_ROUNDS = 3  # 50,000-file setups take seconds each; the median of three is enough for a trend
FILES_PER_DIR = 50
DIRS_PER_GROUP = 50
EPOCH_S = 1_700_000_000  # commit dates, one minute apart, so the repositories are identical each run


@dataclass
class _Bench:
    """What every measurement shares: the settings (one fresh data dir) and the ids handed out."""

    settings: Settings
    repeats: int
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def spec(self, repo: Path) -> SandboxSpec:
        """A spec for a new work order on `repo`, its id unique within this run."""
        work_order_id = f"wo-bn{next(self.numbers):06d}"
        if not is_work_order_id(work_order_id):
            raise ValueError(f"{work_order_id!r} is not a valid work order id")
        return SandboxSpec(
            work_order_id=work_order_id, repository_url=str(repo), branch=branch_name(work_order_id)
        )


@dataclass
class _Samples:
    setup_s: list[float] = field(default_factory=list)
    cleanup_s: list[float] = field(default_factory=list)
    command_s: list[float] = field(default_factory=list)


async def run(quick: bool) -> dict[str, Any]:
    """The figures; `quick`: 3 rounds of the three sandboxes instead of 7, no 50,000-file repository."""
    repeats = 3 if quick else 7
    growth_files = [500, 5_000] if quick else [500, 5_000, 50_000]
    root = Path(tempfile.mkdtemp(prefix="shipyard-bench-sandbox-"))
    try:
        bench = _Bench(Settings(data_dir=root / "data"), repeats)
        figures = await _compare(bench, root / "repo")
        figures["temp_dir"] = str(root.parent)  # setup is mostly file creation: its file system matters
        figures["growth_commits"] = GROWTH_COMMITS
        figures["growth_rounds"] = GROWTH_ROUNDS
        for files in growth_files:
            figures[f"growth_{files}_files"] = await _growth(bench, root / f"growth-{files}", files)
    finally:
        await asyncio.to_thread(shutil.rmtree, root, ignore_errors=True)
    return figures


async def _compare(bench: _Bench, repo: Path) -> dict[str, Any]:
    """The three sandboxes on the main repository."""
    generate_s = await asyncio.to_thread(_generate, repo, FILES, COMMITS)
    figures: dict[str, Any] = {"files": FILES, "commits": COMMITS, "generate_s": round(generate_s, 2)}
    figures["git_worktree_cold"] = _figure((await _measure(bench, ["git_worktree"], repo, 1))["git_worktree"])
    names = ["git_worktree", "git_branch"]
    availability = await asyncio.to_thread(BwrapSandbox.check, bench.settings)
    if availability.available:
        names.append("bwrap")
    else:
        figures["bwrap"] = f"unavailable: {availability.reason}"
    measured = await _measure(bench, names, repo, bench.repeats)
    figures.update({name: _figure(samples) for name, samples in measured.items()})
    if "bwrap" in measured:
        figures["bwrap_first_command"] = summary(measured["bwrap"].command_s)
        figures["git_branch_first_command"] = summary(measured["git_branch"].command_s)  # no bubblewrap
    return figures


async def _growth(bench: _Bench, repo: Path, files: int) -> dict[str, Any]:
    """Median warm `git_worktree` and `git_branch` setups on a repository of `files` files."""
    generate_s = await asyncio.to_thread(_generate, repo, files, GROWTH_COMMITS)
    cold = (await _measure(bench, ["git_worktree"], repo, 1))["git_worktree"]
    measured = await _measure(bench, ["git_worktree", "git_branch"], repo, GROWTH_ROUNDS)
    return {
        "git_worktree_p50_ms": _p50_ms(measured["git_worktree"].setup_s),
        "git_branch_p50_ms": _p50_ms(measured["git_branch"].setup_s),
        "git_worktree_cold_ms": _p50_ms(cold.setup_s),
        "generate_s": round(generate_s, 2),
    }


async def _measure(bench: _Bench, names: list[str], repo: Path, rounds: int) -> dict[str, _Samples]:
    """`rounds` rounds of one setup of each sandbox in `names`, taken in turn so that a change
    in the machine's load falls on all of them alike."""
    sandboxes = [build_sandbox(name, bench.settings) for name in names]
    measured = {name: _Samples() for name in names}
    for _ in range(rounds):
        for sandbox in sandboxes:
            await _once(sandbox, bench.spec(repo), measured[sandbox.name])
    return measured


async def _once(sandbox: Sandbox, spec: SandboxSpec, samples: _Samples) -> None:
    """Set up, run the first command, clean up: each timed into `samples`."""
    started = time.monotonic()
    handle = await sandbox.setup(spec)
    samples.setup_s.append(time.monotonic() - started)
    samples.command_s.append(await _first_command(sandbox, handle))
    started = time.monotonic()
    await sandbox.cleanup(handle)
    samples.cleanup_s.append(time.monotonic() - started)


async def _first_command(sandbox: Sandbox, handle: SandboxHandle) -> float:
    """Seconds for one `true` in the workspace (bwrap starts a new bubblewrap for each command)."""
    started = time.monotonic()
    result = await sandbox.workspace(handle).exec("true")
    elapsed = time.monotonic() - started
    if not result.ok:
        raise RuntimeError(
            f"`true` failed in {sandbox.name} (exit {result.exit_code}): {result.stderr[-2000:]}"
        )
    return elapsed


def _figure(samples: _Samples) -> dict[str, Any]:
    return {**summary(samples.setup_s), "cleanup_p50_ms": _p50_ms(samples.cleanup_s)}


def _p50_ms(samples_s: list[float]) -> float:
    return round(statistics.median(samples_s) * 1000, 2)


def _generate(path: Path, files: int, commits: int) -> float:
    """Write the repository at `path` and check out `main`; the seconds it took."""
    started = time.monotonic()
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=path, check=True)
    stream = _stream(files, commits)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=stream, check=True)
    subprocess.run(["git", "reset", "--quiet", "--hard", "main"], cwd=path, check=True)
    return time.monotonic() - started


def _stream(files: int, commits: int) -> bytes:
    """A fast-import stream: commit `i` adds its share of the files and changes one older file."""
    revisions = [0] * files
    out = bytearray()
    for i in range(commits):
        first, end = files * i // commits, files * (i + 1) // commits
        touched = list(range(first, end))
        if first:
            older = i * 7919 % first  # a prime stride spreads the changes over the tree
            revisions[older] += 1
            touched.append(older)
        message = f"change {i}: {len(touched)} files\n".encode()
        out += b"commit refs/heads/main\n"
        out += f"committer bench <bench@localhost> {EPOCH_S + 60 * i} +0000\n".encode()
        out += _data(message)
        for number in touched:
            out += f"M 100644 inline {_file_path(number)}\n".encode()
            out += _data(_content(number, revisions[number]))
    return bytes(out)


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def _file_path(number: int) -> str:
    directory = number // FILES_PER_DIR
    return f"src/g{directory // DIRS_PER_GROUP:03d}/d{directory % DIRS_PER_GROUP:02d}/f{number:05d}.txt"


def _content(number: int, revision: int) -> bytes:
    lines = [f"file {number}, revision {revision}"]
    lines += [f"line {n}: some text to make a small source file of a few lines" for n in range(1, 6)]
    return ("\n".join(lines) + "\n").encode()
