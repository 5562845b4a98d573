"""Dashboard parameters past what SQL can bind (issue 14, item 4): a 422 page, not a 500."""

from __future__ import annotations

from dashboard_kit import Dashboard, Seed

HUGE = str(2**63)


async def test_huge_page_before_and_after_are_refused(dashboard: Dashboard, seed: Seed) -> None:
    wo = await seed()
    for path, params in [
        ("/", {"page": HUGE}),
        ("/", {"page": str(2**63 // 25 + 1)}),  # its offset would be past 2**63 - 1
        (f"/work-orders/{wo.id}/log", {"before": HUGE}),
        (f"/work-orders/{wo.id}/live", {"after": HUGE}),
    ]:
        resp = await dashboard.client.get(path, params=params)
        assert resp.status_code == 422, (path, params, resp.text[:200])
        assert "<html" in resp.text
    headers = {"Last-Event-ID": HUGE}  # an id the browser cannot have had: ignored
    async with dashboard.client.stream("GET", f"/work-orders/{wo.id}/live", headers=headers) as live:
        assert live.status_code == 200
