"""The `local` Forge reads its pull requests by number from a real store, and says it keeps no reviews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError, NotFound
from shipyard.domain.work_orders import WorkOrderCreate
from shipyard.forge.base import InlineComment, ReviewSpec
from shipyard.forge.local import local_pr_url
from shipyard.forge.registry import forge_for
from shipyard.store import Store
from shipyard.store.migrate import upgrade
from support import MakeRepo


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shipyard.db'}"
    await upgrade(url)
    opened = await Store.open(url)
    yield opened
    await opened.close()


async def test_a_pull_request_is_read_from_the_store_and_reviews_are_refused(
    settings: Settings, store: Store, make_repo: MakeRepo
) -> None:
    repo = make_repo("widgets")
    wo = await store.create_work_order(
        WorkOrderCreate(
            id="wo-review1", repository_url=str(repo), workflow_type="w", sandbox_type="git_worktree",
            agent="shell", git_branch_name="feature", base_branch="main",
        )
    )  # fmt: skip
    row = await store.save_pull_request(
        wo.id, repository_url=str(repo), head_branch="feature", base_branch="main", title="Add feature",
        body="Adds it.", draft=True, commits=2, files_changed=3, lines_added=40, lines_removed=5,
    )  # fmt: skip
    forge = forge_for("local", settings, str(repo), store)

    info = await forge.get_pr(row.number)
    assert (info.number, info.url, info.title, info.body) == (
        row.number,
        local_pr_url(row.number),
        "Add feature",
        "Adds it.",
    )
    assert (info.head_branch, info.base_branch, info.state, info.draft) == ("feature", "main", "open", True)
    assert (info.commits, info.files_changed, info.lines_added, info.lines_removed) == (2, 3, 40, 5)
    with pytest.raises(NotFound, match="pull request #999"):
        await forge.get_pr(999)
    with pytest.raises(NotFound):  # another repository's pull request is not this forge's
        await forge_for("local", settings, str(make_repo("other")), store).get_pr(row.number)

    spec = ReviewSpec(comments=[InlineComment(path="app.py", line=3, body="Nit.")])
    calls = (
        forge.list_review_comments(row.number),
        forge.create_review(row.number, spec),
        forge.reply_to_review_comment(row.number, 1, "Done."),
    )
    for call in calls:
        with pytest.raises(ForgeError, match=f"the local forge keeps no .* \\(repository {repo}\\)"):
            await call
