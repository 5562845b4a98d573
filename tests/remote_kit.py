"""What the sandboxes whose commands run away from Shipyard's clone (e2b, dagger) must keep: the
clone and the place the commands run stay level, both ways."""

from __future__ import annotations

from pathlib import Path

from shipyard.gitutil import commit_all
from shipyard.sandboxes.base import Workspace
from support import git


async def work_flows_both_ways(work: Workspace, local: Path, work_order_id: str) -> str:
    """Run commands through `work` (made with SHIPYARD_WORK_ORDER_ID=`work_order_id` in its env)
    over the clone at `local`, checking that output, exit codes and changed files come back, that
    Shipyard's commits go there and commits made there come back; the directory they ran in."""
    lines: list[tuple[str, str]] = []

    async def seen(stream: str, line: str) -> None:
        lines.append((stream, line))

    script = (
        'echo new > new.txt; rm README.md; echo "as $SHIPYARD_WORK_ORDER_ID in $PWD"; '
        "echo oops >&2; printf tail; exit 3"
    )
    result = await work.exec(script, on_line=seen)
    assert result.exit_code == 3 and result.stderr == "oops\n"
    inside = result.stdout.removeprefix(f"as {work_order_id} in ").removesuffix("\ntail")
    assert result.stdout == f"as {work_order_id} in {inside}\ntail" and inside != str(local)
    assert [line for line in lines if line[0] == "stdout"] == [
        ("stdout", f"as {work_order_id} in {inside}"),
        ("stdout", "tail"),
    ]
    assert ("stderr", "oops") in lines
    # What the command changed there is the clone's working tree now, uncommitted.
    assert (local / "new.txt").read_text() == "new\n" and not (local / "README.md").exists()
    assert git(local, "status", "--porcelain").split("\n")[:2] == [" D README.md", "?? new.txt"]

    # Shipyard commits here; the next command finds that commit there, its tree clean.
    assert await commit_all(local, "feat: new", "implementing") is not None
    echoed = await work.exec("git log -1 --format=%s; git status --porcelain")
    assert echoed.stdout == "feat: new\n"
    # A commit made there comes back as a commit.
    made = await work.exec(
        "echo more >> new.txt && git -c user.name=A -c user.email=a@b.c commit -qam 'docs: more'"
    )
    assert made.ok
    assert git(local, "log", "--format=%s", "-2").split("\n")[:2] == ["docs: more", "feat: new"]
    assert git(local, "status", "--porcelain") == ""
    # stdin reaches the command; an argv list runs as it is.
    piped = await work.exec(["sh", "-c", 'read x; echo "got $x"'], stdin="it\n")
    assert piped.stdout == "got it\n"
    return inside
