"""progress() and diff() agree with what a user sees from git itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from shipyard.gitutil import commit_all, diff, progress

Sh = Callable[..., str]


def shortstat(sh: Sh, repo: Path, base: str) -> tuple[int, int, int]:
    """Parse `git diff --shortstat` the way a reader of its output would."""
    text = sh(repo, "diff", "--shortstat", base, "HEAD")

    def number(word: str) -> int:
        found = re.search(rf"(\d+) {word}", text)
        return int(found.group(1)) if found else 0

    return number("file"), number("insertion"), number("deletion")


async def test_progress_matches_git_and_tracks_phases(origin: Path, sh: Sh) -> None:
    base = sh(origin, "rev-parse", "HEAD").strip()
    (origin / "specs").mkdir()
    (origin / "specs" / "plan.md").write_text("# plan\n- one\n- two\n")
    plan_sha = await commit_all(origin, "plan: the plan\n\nlonger body", phase="planning")
    (origin / "app.py").write_text("print('hello')\nprint('world')\n")
    (origin / "logo.png").write_bytes(bytes(range(256)) * 4)
    (origin / "README.md").unlink()
    build_sha = await commit_all(origin, "build: world", phase="implementing")
    (origin / "notes.txt").write_text("untagged\n")
    last_sha = await commit_all(origin, "chore: notes")

    got = await progress(origin, base)

    assert (got.files_changed, got.lines_added, got.lines_removed) == shortstat(sh, origin, base)
    assert got.files_changed == 5
    assert got.commit_count == 3 == int(sh(origin, "rev-list", "--count", f"{base}..HEAD"))
    assert [c.sha for c in got.commits] == [plan_sha, build_sha, last_sha]
    assert [c.phase for c in got.commits] == ["planning", "implementing", None]
    assert [c.message for c in got.commits] == ["plan: the plan", "build: world", "chore: notes"]
    assert (got.latest_commit_sha, got.latest_commit_message) == (last_sha, "chore: notes")
    build = got.commits[1]
    # app.py +1, logo.png binary (a file, no lines), README.md -1
    assert (build.files_changed, build.lines_added, build.lines_removed) == (3, 1, 1)
    assert all(c.committed_at.tzinfo is not None for c in got.commits)


async def test_progress_of_an_untouched_branch(origin: Path, sh: Sh) -> None:
    base = sh(origin, "rev-parse", "HEAD").strip()
    got = await progress(origin, base)
    assert got.commit_count == 0 and got.commits == []
    assert (got.files_changed, got.lines_added, got.lines_removed) == (0, 0, 0)
    assert got.latest_commit_sha is None


async def test_progress_of_another_ref(origin: Path, sh: Sh) -> None:
    base = sh(origin, "rev-parse", "HEAD").strip()
    sh(origin, "checkout", "--quiet", "-b", "wo/side")
    (origin / "side.txt").write_text("a\nb\n")
    side = await commit_all(origin, "side", phase="testing")
    sh(origin, "checkout", "--quiet", "main")
    got = await progress(origin, base, "wo/side")
    assert got.latest_commit_sha == side
    assert (got.commit_count, got.lines_added) == (1, 2)


async def test_diff_is_the_unified_diff(origin: Path, sh: Sh) -> None:
    base = sh(origin, "rev-parse", "HEAD").strip()
    (origin / "app.py").write_text("print('changed')\n")
    await commit_all(origin, "change")
    text = await diff(origin, base)
    assert text == sh(origin, "diff", base, "HEAD")
    assert "-print('hello')\n+print('changed')" in text


async def test_files_git_quotes_are_counted(origin: Path) -> None:
    names = ["café.txt", "tab\there.txt", 'q"uote.txt', "new\nline.txt"]
    for name in names:
        (origin / name).write_text("x\n")
    await commit_all(origin, "awkward names")
    got = await progress(origin, "HEAD~1")
    assert (got.files_changed, got.lines_added) == (4, 4)
    text = await diff(origin, "HEAD~1")
    assert "diff --git a/café.txt b/café.txt" in text  # named as is, not as octal escapes
