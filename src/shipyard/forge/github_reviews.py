"""Where GitHub takes an inline review comment, and which comments of a refused review it could not place.

GitHub refuses a whole review (422) when one of its inline comments is not on a line of the pull
request's diff, and its answer does not say which one ("Line could not be resolved, and Path could
not be resolved"). The pull request's files carry each file's diff (`patch`): the lines it shows on
a side are the lines a comment on that side may name. No githubkit here: plain text in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.forge.github_base import GitHubFailed
from shipyard.forge.models import InlineComment

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class DiffLines:
    """The lines one file's diff shows: RIGHT, the head's (added and unchanged); LEFT, the base's
    (removed and unchanged)."""

    right: frozenset[int]
    left: frozenset[int]


def diff_lines(patch: str) -> DiffLines:
    """The lines a unified diff's hunks show, on each side."""
    right: set[int] = set()
    left: set[int] = set()
    old = new = 0
    for text in patch.splitlines():
        hunk = _HUNK.match(text)
        if hunk:
            old, new = int(hunk[1]), int(hunk[2])
            continue
        tag = text[:1] or " "  # an unchanged empty line may come without its leading space
        if tag in (" ", "-"):
            left.add(old)
            old += 1
        if tag in (" ", "+"):
            right.add(new)
            new += 1
    return DiffLines(frozenset(right), frozenset(left))


def misplaced(comments: list[InlineComment], files: dict[str, DiffLines | None]) -> list[str]:
    """`path:line: why` for each comment not on a line of the diff. `files`: path → its diff's lines,
    None when GitHub shows no diff for it (binary, too large): comments there are not judged."""
    found = []
    for comment in comments:
        why = _why_misplaced(comment, files)
        if why:
            found.append(f"{comment.path}:{comment.line}: {why}")
    return found


def _why_misplaced(comment: InlineComment, files: dict[str, DiffLines | None]) -> str | None:
    if comment.path not in files:
        return "the pull request does not change this file"
    lines = files[comment.path]
    if lines is None:
        return None
    shown = lines.right if comment.side == "RIGHT" else lines.left
    if comment.line in shown:
        return None
    return (
        f"not a line of the pull request's diff on the {comment.side} side (changed lines and their context)"
    )


def refusal(err: GitHubFailed, found: list[str]) -> GitHubFailed:
    """GitHub's refusal of a review, with the inline comments it could not place (`found`)."""
    return GitHubFailed(
        f"{err.message}. Inline comments not on the diff: {'; '.join(found)}", err.status, err.details
    )
