"""The `local` Forge's branches and merges in a real repository on disk, its pull requests in a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shipyard.config import Settings
from shipyard.domain.errors import Conflict, ForgeError, InvalidInput, NotFound
from shipyard.domain.work_orders import WorkOrderCreate
from shipyard.forge.base import Forge
from shipyard.forge.registry import forge_for
from shipyard.store import Store
from shipyard.store.migrate import upgrade
from support import MakeRepo, git


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shipyard.db'}"
    await upgrade(url)
    opened = await Store.open(url)
    yield opened
    await opened.close()


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    path = make_repo("widgets")
    git(path, "switch", "-q", "-c", "feature")
    (path / "feature.txt").write_text("new\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "feature")
    git(path, "switch", "-q", "--detach")  # nothing checked out that a merge would move
    return path


async def open_pr(store: Store, repo: Path, head: str = "feature", base: str = "main") -> int:
    """A work order on `head` and its pull request into `base`, as the local forge records them."""
    wo = await store.create_work_order(
        WorkOrderCreate(
            id=f"wo-{head[:8]:0<8}", repository_url=str(repo), workflow_type="w", sandbox_type="git_worktree",
            agent="shell", git_branch_name=head, base_branch=base,
        )
    )  # fmt: skip
    fields = {"repository_url": str(repo), "head_branch": head, "base_branch": base, "title": f"Add {head}"}
    return (await store.save_pull_request(wo.id, **fields)).number


def local(settings: Settings, store: Store, repo: Path) -> Forge:
    return forge_for("local", settings, str(repo), store)


async def test_a_branch_is_created_without_touching_the_working_tree(
    settings: Settings, store: Store, repo: Path
) -> None:
    forge = local(settings, store, repo)
    main = git(repo, "rev-parse", "main").strip()
    made = await forge.create_branch("task/1-parse", "main")
    assert (made.name, made.sha) == ("task/1-parse", main)
    assert git(repo, "rev-parse", "task/1-parse").strip() == main
    with pytest.raises(Conflict, match="already exists"):
        await forge.create_branch("task/1-parse", "feature")
    with pytest.raises(ForgeError):
        await forge_for("local", settings, "https://example.com/x.git", store).create_branch("b", "main")


async def test_a_pull_request_is_merged_into_its_base(settings: Settings, store: Store, repo: Path) -> None:
    forge = local(settings, store, repo)
    number = await open_pr(store, repo)
    merged = await forge.merge_pr(number)
    assert git(repo, "rev-parse", "main").strip() == merged.sha
    assert git(repo, "rev-list", "--parents", "-n1", "main").split()[1:] == [
        git(repo, "rev-parse", sha).strip() for sha in ("main^1", "feature")
    ]
    assert git(repo, "show", "main:feature.txt") == "new\n"
    assert (await store.get_pull_request(number)).state == "merged"
    assert (await forge.merge_pr(number)).sha == merged.sha  # merged before: nothing changes


async def test_a_squash_leaves_one_parent_and_a_conflict_is_refused(
    settings: Settings, store: Store, repo: Path
) -> None:
    forge = local(settings, store, repo)
    git(repo, "switch", "-q", "-c", "clash", "main")
    (repo / "feature.txt").write_text("other\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "clash")
    git(repo, "switch", "-q", "--detach")
    squashed = await forge.merge_pr(await open_pr(store, repo), "squash")
    assert len(git(repo, "rev-list", "--parents", "-n1", squashed.sha).split()) == 2
    with pytest.raises(Conflict, match="does not merge cleanly"):
        await forge.merge_pr(await open_pr(store, repo, head="clash"))
    with pytest.raises(InvalidInput, match="rebase"):
        await forge.merge_pr(1, "rebase")


async def test_a_checked_out_base_is_not_moved_under_its_owner(
    settings: Settings, store: Store, repo: Path
) -> None:
    git(repo, "switch", "-q", "main")
    before = git(repo, "rev-parse", "main").strip()
    with pytest.raises(Conflict, match="checked out"):
        await local(settings, store, repo).merge_pr(await open_pr(store, repo))
    assert git(repo, "rev-parse", "main").strip() == before


async def test_reviews_are_none_and_issues_are_not_kept(settings: Settings, store: Store, repo: Path) -> None:
    forge = local(settings, store, repo)
    assert await forge.list_reviews(await open_pr(store, repo)) == []
    with pytest.raises(NotFound):
        await forge.list_reviews(999)
    for call in (forge.get_issue(1), forge.create_sub_issue(1, "t", ""), forge.comment(1, "hi")):
        with pytest.raises(ForgeError, match="local forge keeps no"):
            await call
