"""The issue tree mirrored on a hosted forge (GitHub): each issue an issue there, its children
its sub-issues, its type and status as labels. The local forge keeps the tree in the store only.

Made once: each forge issue carries a hidden marker naming the run and the issue, and is looked
for by it before one is opened, so an attempt that died between opening it and noting its number
leaves no second one; one found that is no sub-issue yet is attached to its parent then (that
attempt died between opening and attaching it). The tree is made top down, so a parent is there
before its children, and siblings are opened in their order (GitHub lists sub-issues in the order
they were added)."""

from __future__ import annotations

from datetime import timedelta

from shipyard.forge.base import Forge, IssueInfo
from shipyard.store.records import IdeaRunRecord, IssueNodeRecord
from shipyard.store.store import Store

_MARK = "<!-- shipyard:issue "
_OURS = ("type:", "status:")  # the label families the mirror keeps; any others are left as they are
_CLOCK_SKEW = timedelta(hours=1)  # the forge's clock may be behind ours: look a little further back


async def sync_issue(
    forge: Forge, store: Store, run: IdeaRunRecord, issue: IssueNodeRecord
) -> IssueNodeRecord:
    """Bring the forge's copy of `issue` in line with it (made the first time); the issue as stored."""
    if not forge.hosted:
        return issue
    fields: dict[str, object] = {}
    number, carried = issue.forge_issue_number, issue.labels
    if number is None:
        made = await _find_or_open(forge, store, run, issue)
        number, carried = made.number, made.labels
        fields["forge_issue_number"] = number
    wanted = labels_of(issue)
    await _relabel(forge, number, carried, wanted)
    if wanted != issue.labels:
        fields["labels"] = wanted
    return await store.update_issue(issue.id, **fields) if fields else issue


def labels_of(issue: IssueNodeRecord) -> list[str]:
    """The labels the issue's forge copy carries: its type, its status, and those it was planned with."""
    own = [label for label in issue.labels if not label.startswith(_OURS)]
    return [f"type:{issue.type.value}", f"status:{issue.status.value}", *own]


def marker(run: IdeaRunRecord, issue: IssueNodeRecord) -> str:
    """The hidden line that names the forge issue's run and issue."""
    return f"{_MARK}{run.id}/{issue.id} -->"


def issue_body(run: IdeaRunRecord, issue: IssueNodeRecord) -> str:
    """What the forge issue says: the issue's text, its acceptance criteria as a checklist, its run."""
    parts = [issue.body.replace(_MARK, "<!-- shipyard issue ").strip()]  # no copy of a marker in it
    if issue.acceptance_criteria:
        checklist = "\n".join(f"- [ ] {c}" for c in issue.acceptance_criteria)
        parts.append(f"**Acceptance criteria**\n\n{checklist}")
    what = f"The {issue.type.value} #{issue.id} of Shipyard's idea run `{run.id}`."
    parts.append(f"{what}\n{marker(run, issue)}")
    return "\n\n".join(part for part in parts if part)


async def _find_or_open(forge: Forge, store: Store, run: IdeaRunRecord, issue: IssueNodeRecord) -> IssueInfo:
    """The issue's forge copy: the one an earlier attempt opened, else a new one (the epic's of its
    own, any other a sub-issue of its parent's, which is made first if it is missing)."""
    found = await forge.find_issue(marker(run, issue), run.created_at - _CLOCK_SKEW)
    if issue.parent_id is None:
        return found or await forge.create_issue(issue.title, issue_body(run, issue))
    if found is not None and found.parent_number is not None:
        return found
    parent = await store.get_issue(issue.parent_id)
    if parent.forge_issue_number is None:  # its own mirroring failed earlier
        parent = await sync_issue(forge, store, run, parent)
    assert parent.forge_issue_number is not None
    if found is not None:  # the attempt that opened it died before making it a sub-issue
        await forge.add_sub_issue(parent.forge_issue_number, found)
        return found
    return await forge.create_sub_issue(parent.forge_issue_number, issue.title, issue_body(run, issue))


async def _relabel(forge: Forge, number: int, carried: list[str], wanted: list[str]) -> None:
    """Take off the mirror's labels that no longer hold and add those missing; no call if none."""
    for label in carried:
        if label.startswith(_OURS) and label not in wanted:
            await forge.remove_label(number, label)
    missing = [label for label in wanted if label not in carried]
    if missing:
        await forge.add_labels(number, missing)
