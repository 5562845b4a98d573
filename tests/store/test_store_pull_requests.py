"""Local pull requests: numbered by row id, saved idempotently per work order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from shipyard.domain.errors import NotFound
from shipyard.domain.work_orders import WorkOrder
from shipyard.store import Store

Make = Callable[..., Awaitable[WorkOrder]]


async def test_first_save_inserts_numbered_by_row_id_with_work_order_defaults(
    store: Store, make_work_order: Make
) -> None:
    wo = await make_work_order(git_branch_name="wo/x-health", base_branch="main")

    pr = await store.save_pull_request(wo.id, title="Add /health", draft=True, commits=2)

    assert pr.number == pr.id
    assert (pr.repository_url, pr.head_branch, pr.base_branch) == (
        wo.repository_url,
        "wo/x-health",
        "main",
    )
    assert (pr.title, pr.body, pr.state, pr.draft, pr.commits, pr.url) == (
        "Add /health",
        "",
        "open",
        True,
        2,
        None,
    )
    assert pr.created_at.tzinfo is not None


async def test_later_saves_update_the_same_pull_request(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order()
    first = await store.save_pull_request(
        wo.id, title="Add /health", body="plan", head_branch="wo/a", base_branch="main"
    )

    second = await store.save_pull_request(wo.id, url=f"/api/pull-requests/{first.number}")
    third = await store.save_pull_request(
        wo.id, draft=False, state="merged", lines_added=10, lines_removed=2, files_changed=3
    )

    assert second.id == third.id == first.id and third.number == first.number
    assert third.url == f"/api/pull-requests/{first.number}"
    assert (third.title, third.body, third.state, third.draft) == (
        "Add /health",
        "plan",
        "merged",
        False,
    )
    assert (third.lines_added, third.lines_removed, third.files_changed) == (10, 2, 3)
    assert third.created_at == first.created_at and third.updated_at >= second.updated_at
    assert await store.get_pull_request_for_work_order(wo.id) == third


async def test_get_by_number_and_repository(store: Store, make_work_order: Make) -> None:
    a = await make_work_order(repository_url="/repos/a")
    b = await make_work_order(repository_url="/repos/b")
    pr_a = await store.save_pull_request(a.id, title="a")
    pr_b = await store.save_pull_request(b.id, title="b")

    assert pr_a.number != pr_b.number
    assert await store.get_pull_request(pr_b.number) == pr_b
    assert await store.get_pull_request(pr_a.number, "/repos/a") == pr_a
    with pytest.raises(NotFound) as caught:
        await store.get_pull_request(pr_a.number, "/repos/b")
    assert caught.value.message == f"pull request #{pr_a.number} not found"
    with pytest.raises(NotFound, match="pull request #999 not found"):
        await store.get_pull_request(999)


async def test_explicit_number_is_kept(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order(repository_url="https://github.com/acme/widgets")

    pr = await store.save_pull_request(wo.id, number=1234, url="https://github.com/acme/widgets/pull/1234")

    assert pr.number == 1234
    assert await store.get_pull_request(1234, "https://github.com/acme/widgets") == pr


async def test_work_order_without_pull_request_and_bad_saves(store: Store, make_work_order: Make) -> None:
    wo = await make_work_order()

    assert await store.get_pull_request_for_work_order(wo.id) is None
    with pytest.raises(NotFound, match="work order 'wo-nothere' not found"):
        await store.save_pull_request("wo-nothere", title="x")
    with pytest.raises(TypeError, match="unknown pull request field\\(s\\): reviewers"):
        await store.save_pull_request(wo.id, reviewers=["ann"])
    assert await store.get_pull_request_for_work_order(wo.id) is None


async def test_one_opened_by_hand_has_no_work_order_and_is_listed_with_its_repositorys(
    store: Store, make_work_order: Make
) -> None:
    wo = await make_work_order(repository_url="/repos/a", git_branch_name="wo/a", base_branch="main")
    by_work_order = await store.save_pull_request(wo.id, title="by a work order")

    by_hand = await store.open_pull_request(
        "/repos/a", title="by hand", head_branch="fix", base_branch="main"
    )
    await store.open_pull_request("/repos/b", title="elsewhere", head_branch="fix", base_branch="main")
    merged = await store.update_pull_request(by_hand.id, state="merged")

    assert (by_hand.work_order_id, by_hand.number, by_hand.state) == (None, by_hand.id, "open")
    assert (merged.state, merged.title, merged.number) == ("merged", "by hand", by_hand.number)
    assert await store.list_pull_requests("/repos/a") == [merged, by_work_order]  # newest first
    assert await store.list_pull_requests("/repos/a", ("open",)) == [by_work_order]
    assert await store.list_pull_requests("/repos/a", ("closed", "merged"), "fix") == [merged]
    assert await store.list_pull_requests("/repos/a", head_branch="other") == []
    with pytest.raises(NotFound, match="pull request row 999 not found"):
        await store.update_pull_request(999, state="closed")
    with pytest.raises(TypeError, match="unknown pull request field"):
        await store.open_pull_request("/repos/a", number=7)
