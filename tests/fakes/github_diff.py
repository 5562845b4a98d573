"""A pull request's diff in the fake GitHub, from real git data: `git diff base...head` in the
repository's bare copy, split per file into GitHub's `patch`, the lines each side shows, and the
JSON of "List pull requests files"."""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakes.github_json import GitHubError, Pull

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass
class FileDiff:
    """One file of a pull request's diff; `right`/`left`: a line the diff shows on that side →
    its position in the file's diff and the hunk down to it."""

    path: str
    status: str  # added | removed | modified | renamed
    sha: str
    patch: str
    previous_path: str | None = None
    additions: int = 0
    deletions: int = 0
    right: dict[int, tuple[int, str]] = field(default_factory=dict)
    left: dict[int, tuple[int, str]] = field(default_factory=dict)


def pull_diff(git_dir: Path, pull: Pull) -> dict[str, FileDiff]:
    """Path → its diff, for the pull request's `base...head` in the bare repository `git_dir`."""
    spec = f"refs/heads/{pull.base}...refs/heads/{pull.head}"
    out = git(git_dir, "diff", "--no-color", "--no-ext-diff", "--full-index", "-M", spec)
    files = (_file_diff(part) for part in re.split(r"^(?=diff --git )", out, flags=re.M) if part)
    return {diff.path: diff for diff in files}


def _file_diff(text: str) -> FileDiff:
    lines = text.splitlines()
    header = lines[: next((i for i, line in enumerate(lines) if line.startswith("@@")), len(lines))]
    path = lines[0].rpartition(" b/")[2]
    renamed = next((line[len("rename from ") :] for line in header if line.startswith("rename from ")), None)
    index = next((line.split()[1] for line in header if line.startswith("index ")), "")
    old_sha, _, new_sha = index.partition("..")
    status = "renamed" if renamed else "modified"
    status = "added" if any(h.startswith("new file") for h in header) else status
    status = "removed" if any(h.startswith("deleted file") for h in header) else status
    sha = old_sha if status == "removed" else new_sha  # a pure rename has no index line
    sha = sha or hashlib.sha1(path.encode()).hexdigest()
    diff = FileDiff(path, status, sha, "\n".join(lines[len(header) :]), renamed)
    _walk(diff, lines[len(header) :])
    return diff


def _walk(diff: FileDiff, hunks: list[str]) -> None:
    """Record the lines each side shows, with their positions (counted from the first hunk's header)."""
    old = new = 0
    shown: list[str] = []
    for position, line in enumerate(hunks):
        found = _HUNK.match(line)
        if found:
            old, new, shown = int(found[1]), int(found[2]), [line]
            continue
        shown.append(line)
        tag = line[:1]
        if tag in (" ", "-"):
            diff.left[old], old = (position, "\n".join(shown)), old + 1
        if tag in (" ", "+"):
            diff.right[new], new = (position, "\n".join(shown)), new + 1
        diff.additions += tag == "+"
        diff.deletions += tag == "-"


def git(cwd: Path, *args: str) -> str:
    """git's output in `cwd`; GitHub's 500 when it fails."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GitHubError(500, f"the fake GitHub's git failed: {done.stderr.strip()}")
    return done.stdout


def side_lines(diff: FileDiff, side: str) -> dict[int, tuple[int, str]]:
    """The lines the diff shows on `side` (RIGHT or LEFT) → their position and hunk."""
    return diff.right if side == "RIGHT" else diff.left


def file_json(repo: dict[str, Any], head: str, diff: FileDiff) -> dict[str, Any]:
    """A file of a pull request ("List pull requests files"); no `patch` for a binary file."""
    body: dict[str, Any] = {
        "sha": diff.sha, "filename": diff.path, "status": diff.status, "additions": diff.additions,
        "deletions": diff.deletions, "changes": diff.additions + diff.deletions,
        "blob_url": f"{repo['html_url']}/blob/{head}/{diff.path}",
        "raw_url": f"{repo['html_url']}/raw/{head}/{diff.path}",
        "contents_url": f"{repo['url']}/contents/{diff.path}?ref={head}",
    }  # fmt: skip
    if diff.patch:
        body["patch"] = diff.patch
    if diff.previous_path:
        body["previous_filename"] = diff.previous_path
    return body
