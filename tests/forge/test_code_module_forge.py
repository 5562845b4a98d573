"""What the code module asks of a forge (seed 002 §7.1): branches listed, pull requests listed and
opened from a branch already in the repository. The local forge in a real repository and a real
store; the GitHub forge against the fake GitHub over HTTP, its lists a page at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fakes.github_api import FakeGitHub
from fakes.github_git import commit_sha
from fakes.github_json import now
from forge_kit import REPO
from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
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


def commit_on(repo: Path, branch: str, path: str, text: str, start: str = "main") -> str:
    """A commit writing `path` on a new `branch` from `start`, made with git; HEAD left detached."""
    git(repo, "switch", "-q", "-c", branch, start)
    (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"write {path}")
    git(repo, "switch", "-q", "--detach")  # nothing checked out that a merge would move
    return git(repo, "rev-parse", branch).strip()


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    path = make_repo("widgets")
    commit_on(path, "feature", "feature.txt", "one\ntwo\n")
    return path


def local(settings: Settings, store: Store, repo: Path) -> Forge:
    return forge_for("local", settings, str(repo), store)


async def test_local_branches_are_listed_by_name_with_their_tips(
    settings: Settings, store: Store, repo: Path
) -> None:
    forge = local(settings, store, repo)
    await forge.create_branch("epic/1-widgets", "main")
    main, feature = (git(repo, "rev-parse", b).strip() for b in ("main", "feature"))
    assert [(b.name, b.sha) for b in await forge.list_branches()] == [
        ("epic/1-widgets", main), ("feature", feature), ("main", main),
    ]  # fmt: skip


async def test_a_local_pull_request_is_opened_by_hand_listed_and_merged(
    settings: Settings, store: Store, repo: Path
) -> None:
    forge = local(settings, store, repo)
    opened = await forge.open_pr("feature", "main", "Add the feature", "Two lines.")
    assert (opened.head_branch, opened.base_branch, opened.title, opened.body) == (
        "feature", "main", "Add the feature", "Two lines.",
    )  # fmt: skip
    assert (opened.state, opened.draft, opened.url) == ("open", False, f"/api/pull-requests/{opened.number}")
    assert (opened.commits, opened.files_changed, opened.lines_added, opened.lines_removed) == (1, 1, 2, 0)
    row = await store.get_pull_request(opened.number, str(repo))
    assert row.work_order_id is None and row.url == opened.url
    assert await forge.get_pr(opened.number) == opened
    assert await forge.open_pr("feature", "main", "Again", "") == opened  # the open one answers
    assert await forge.find_pr("feature") == opened
    assert await forge.list_prs() == [opened]

    await forge.merge_pr(opened.number)
    assert git(repo, "show", "main:feature.txt") == "one\ntwo\n"
    merged = opened.model_copy(update={"state": "merged"})
    assert await forge.list_prs("open") == [] and await forge.find_pr("feature") is None
    assert await forge.list_prs("closed") == await forge.list_prs("all") == [merged]


async def test_local_lists_hold_this_repositorys_pull_requests_newest_first(
    settings: Settings, store: Store, repo: Path, make_repo: MakeRepo
) -> None:
    forge = local(settings, store, repo)
    wo = await store.create_work_order(
        WorkOrderCreate(
            id="wo-0000feed", repository_url=str(repo), workflow_type="w", sandbox_type="git_worktree",
            agent="shell", git_branch_name="feature", base_branch="main",
        )
    )  # fmt: skip
    by_work_order = await store.save_pull_request(wo.id, title="By a work order", state="closed")
    commit_on(repo, "second", "second.txt", "2\n")
    by_hand = await forge.open_pr("second", "main", "By hand", "")
    other = make_repo("other")
    commit_on(other, "elsewhere", "x.txt", "x\n")
    await local(settings, store, other).open_pr("elsewhere", "main", "Elsewhere", "")

    assert [p.number for p in await forge.list_prs("all")] == [by_hand.number, by_work_order.number]
    assert [p.title for p in await forge.list_prs("closed")] == ["By a work order"]
    assert [p.title for p in await forge.list_prs("open")] == ["By hand"]


async def test_a_local_pull_request_needs_two_branches_and_commits_between_them(
    settings: Settings, store: Store, repo: Path
) -> None:
    forge = local(settings, store, repo)
    with pytest.raises(InvalidInput, match="no commits between main and main"):
        await forge.open_pr("main", "main", "Nothing", "")
    with pytest.raises(InvalidInput, match="branch nope does not exist"):
        await forge.open_pr("nope", "main", "Missing", "")
    with pytest.raises(InvalidInput, match="branch nope does not exist"):
        await forge.open_pr("feature", "nope", "Missing base", "")
    git(repo, "switch", "-q", "--orphan", "lonely")
    git(repo, "commit", "-q", "--allow-empty", "-m", "alone")
    git(repo, "switch", "-q", "--detach", "main")
    with pytest.raises(InvalidInput, match="share no history"):
        await forge.open_pr("lonely", "main", "Unrelated", "")
    assert await forge.list_prs("all") == []


async def test_github_branches_are_read_to_the_last_page(forge: Forge, github: FakeGitHub) -> None:
    refs = github.repo(REPO).refs
    for n in range(120):
        refs[f"refs/heads/task/{n:03d}"] = commit_sha(REPO, str(n))
    branches = await forge.list_branches()
    assert len(branches) == 121
    assert (branches[0].name, branches[0].sha) == ("main", commit_sha(REPO))
    assert (branches[-1].name, branches[-1].sha) == ("task/119", commit_sha(REPO, "119"))
    assert len([c for c in github.received if c.path == f"/repos/{REPO}/branches"]) == 2  # 100 a page


async def test_github_pull_requests_are_listed_by_state_newest_first(
    forge: Forge, github: FakeGitHub
) -> None:
    pulls = [github.add_pull(REPO, f"task/{n}", "main", f"Task {n}") for n in range(103)]
    pulls[0].state, pulls[0].merged_at = "closed", now()
    pulls[1].state = "closed"
    pulls[2].draft = True

    listed = await forge.list_prs()
    assert [p.number for p in listed] == [p.number for p in reversed(pulls[2:])]
    assert (listed[-1].head_branch, listed[-1].base_branch, listed[-1].draft) == ("task/2", "main", True)
    assert listed[-1].url == f"https://github.com/{REPO}/pull/{pulls[2].number}"
    closed = await forge.list_prs("closed")
    assert [(p.number, p.state) for p in closed] == [(pulls[1].number, "closed"), (pulls[0].number, "merged")]
    assert len(await forge.list_prs("all")) == 103
    pages = [c for c in github.received if (c.method, c.path) == ("GET", f"/repos/{REPO}/pulls")]
    assert len(pages) == 2 + 1 + 2  # open: 101 on two pages; closed: one; all: two


async def test_a_github_pull_request_is_opened_from_a_branch_once(forge: Forge, github: FakeGitHub) -> None:
    opened = await forge.open_pr("task/1-parse", "main", "Parse", "The parser.")
    [pull] = github.pulls(REPO)
    assert (opened.number, opened.title, opened.body, opened.draft) == (
        pull.number,
        "Parse",
        "The parser.",
        False,
    )
    assert (opened.head_branch, opened.base_branch, opened.state) == ("task/1-parse", "main", "open")
    again = await forge.open_pr("task/1-parse", "main", "Parse again", "")
    assert again.number == opened.number and len(github.pulls(REPO)) == 1  # GitHub's "already exists"
    assert await forge.find_pr("task/1-parse") == again
    with pytest.raises(InvalidInput, match=r"422.*No commits between main and main"):
        await forge.open_pr("main", "main", "Nothing", "")
