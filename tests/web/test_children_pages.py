"""A work order's page lists the children its calls started, each with its status and a link; a
child's page links back to its parent."""

from __future__ import annotations

from dashboard_kit import Dashboard, Seed

from shipyard.domain.work_orders import WorkOrderChange, WorkOrderCreate


async def test_a_parent_lists_its_children_and_a_child_links_its_parent(
    dashboard: Dashboard, seed: Seed
) -> None:
    parent = await seed(status="running")
    store = dashboard.store
    for n, status in (("1", "completed"), ("2", "failed")):
        await store.create_work_order(
            WorkOrderCreate(
                id=f"wo-0000000{n}", repository_url="/tmp/widgets", workflow_type="child",
                sandbox_type="git_worktree", agent="shell", parent_id=parent.id,
                git_branch_name=f"wo/wo-0000000{n}-child",
            )
        )  # fmt: skip
        await store.update_work_order(f"wo-0000000{n}", WorkOrderChange(status="running"))
        await store.update_work_order(f"wo-0000000{n}", WorkOrderChange(status=status))

    html = (await dashboard.client.get(f"/work-orders/{parent.id}")).text
    listed = html[html.index('aria-label="Child work orders"') :]
    first, second = (
        listed.index('href="/work-orders/wo-00000001"'),
        listed.index('href="/work-orders/wo-00000002"'),
    )
    assert first < second  # oldest first
    assert "badge-completed" in listed[first:second] and "badge-failed" in listed[second:]
    assert "wo/wo-00000002-child" in listed
    child = (await dashboard.client.get("/work-orders/wo-00000001")).text
    assert f'<dt>Parent</dt><dd><a class="mono" href="/work-orders/{parent.id}">{parent.id}</a>' in child
    assert 'aria-label="Child work orders"' not in child
