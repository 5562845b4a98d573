"""Leftovers in a real repository: a command's changes are noted and left out, an agent's are
committed and listed, new caches are left out unless the repository tracks files there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shipyard.gitutil.leftovers import commit_leftovers, is_cache, note_command_leftovers, uncommitted

Sh = Callable[..., str]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def command(repo: Path, change: dict[str, str | None]) -> None:
    """Make `change` as a `run` step would (None deletes), noting what it left."""
    before = await uncommitted(repo)
    for name, text in change.items():
        if text is None:
            (repo / name).unlink()
        else:
            write(repo / name, text)
    await note_command_leftovers(repo, before)


def committed(sh: Sh, repo: Path) -> list[str]:
    return sh(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "-z", "HEAD").split("\0")[:-1]


async def test_an_agents_changes_are_taken_and_a_commands_are_not(origin: Path, sh: Sh) -> None:
    await command(origin, {"README.md": "# formatted\n", "out/report.txt": "r\n", "app.py": None})
    write(origin / "notes.md", "n\n")  # the agent, from here on
    write(origin / "out/report.txt", "the agent's\n")
    write(origin / "pkg/__pycache__/m.cpython-311.pyc", "x")
    write(origin / "stray.pyc", "y")
    await command(origin, {"pkg/__pycache__/m.cpython-311.pyc": "z"})
    sha = await commit_leftovers(origin, "chore: leftovers", phase="implementing")
    assert sha == sh(origin, "rev-parse", "HEAD").strip()
    assert committed(sh, origin) == ["notes.md", "out/report.txt"]
    message = sh(origin, "log", "-1", "--format=%B")
    assert message == (
        "chore: leftovers\n\nLeft uncommitted by agents:\n- notes.md\n- out/report.txt\n\n"
        "Shipyard-Phase: implementing\n\n"
    )
    assert sh(origin, "status", "--porcelain", "--untracked-files=no").split() == [
        "M",
        "README.md",
        "D",
        "app.py",
    ]


async def test_nothing_to_commit_when_only_commands_changed_things(origin: Path, sh: Sh) -> None:
    head = sh(origin, "rev-parse", "HEAD")
    await command(origin, {"build/x.o": "o", "README.md": "# other\n"})
    sh(origin, "add", "README.md")  # staged by the command, still the command's
    assert await commit_leftovers(origin, "chore: leftovers") is None
    assert sh(origin, "rev-parse", "HEAD") == head


async def test_caches_count_where_the_repository_tracks_files(origin: Path, sh: Sh) -> None:
    write(origin / "dist/app.js", "1\n")
    sh(origin, "add", "dist/app.js")
    sh(origin, "commit", "--quiet", "-m", "ship dist")
    for name in ("dist/app.js", "dist/new.js", "node_modules/m/i.js", "x.egg-info/PKG-INFO", ".coverage"):
        write(origin / name, "2\n")
    await commit_leftovers(origin, "chore: leftovers")
    assert committed(sh, origin) == ["dist/app.js", "dist/new.js"]


async def test_awkward_names_are_names(origin: Path, sh: Sh) -> None:
    names = ["*", "tab\there.txt", "café.txt", ":(glob)x", "-n"]
    write(origin / "keep.txt", "k\n")
    for name in names:
        write(origin / name, "a\n")
    await command(origin, {"keep.txt": "k\n"})  # a command that rewrote keep.txt as it was
    await commit_leftovers(origin, "chore: leftovers")
    assert sorted(committed(sh, origin)) == sorted([*names, "keep.txt"])


def test_what_counts_as_a_cache() -> None:
    cached = ["a/__pycache__/b.pyc", "x.pyc", "node_modules/a/b.js", "web/dist/app.js", ".venv/bin/python",
              "pkg.egg-info/PKG-INFO", ".coverage", ".coverage.host.1", ".pytest_cache/v/x"]  # fmt: skip
    cached.append("crate/target/debug/app")
    kept = ["dist", "build.py", "src/builder/x.py", "coverage.md", "notes/distance.txt", "venvs.txt"]
    assert all(is_cache(name) for name in cached)
    assert not any(is_cache(name) for name in kept)
