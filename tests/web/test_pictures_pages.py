"""The pictures as the pages serve them: a workflow's step graph, a work order's time chart (in
the page and in the part htmx refreshes when the work order moves on)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from dashboard_kit import Dashboard, Seed

from shipyard.store.tables import utc_now
from shipyard.web.pictures import CHART_PAD, CHART_W


def svg(html: str, kind: str) -> str:
    found = re.search(rf'<svg class="picture {kind}".*?</svg>', html, re.S)
    assert found, f"no {kind} in the page"
    return found.group(0)


async def test_the_workflow_page_draws_its_step_graph(dashboard: Dashboard) -> None:
    html = (await dashboard.client.get("/workflows/agent_workflow_plan_build_test")).text
    graph = svg(html, "step-graph")
    assert re.findall(r'<g class="box" data-step="([a-z]+)"', graph) == ["plan", "build", "test", "pr"]
    arrows = re.findall(
        r'class="arrow" d="M [^"]+" marker-end="url\(#arrowhead\)" data-from="(\w+)" data-to="(\w+)"', graph
    )
    assert arrows == [("plan", "build"), ("build", "test"), ("test", "pr")]  # each waits for the one before
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)"', graph)]
    assert xs == sorted(xs) and len(set(xs)) == 4  # four columns, left to right
    assert "prompt · planning" in graph


async def test_a_work_order_shows_its_steps_on_a_time_axis(dashboard: Dashboard, seed: Seed) -> None:
    t0 = utc_now() - timedelta(minutes=5)
    steps = [
        {"step_id": "setup", "status": "completed", "started_at": t0,
         "completed_at": t0 + timedelta(seconds=20)},
        {"step_id": "lint", "status": "failed", "started_at": t0 + timedelta(seconds=20),
         "completed_at": t0 + timedelta(seconds=50)},
        {"step_id": "test", "status": "running", "started_at": t0 + timedelta(seconds=25)},
        {"step_id": "report", "status": "pending"},
    ]  # fmt: skip
    wo = await seed(status="running", steps=steps)
    html = (await dashboard.client.get(f"/work-orders/{wo.id}")).text
    chart = svg(html, "time-chart")
    bars = re.findall(r'<a href="#step-(\w+)" class="bar bar-(\w+)" data-step="\w+" data-lane="(\d+)"', chart)
    lanes = {step: lane for step, _, lane in bars}
    assert {step: status for step, status, _ in bars} == {
        "setup": "completed",
        "lint": "failed",
        "test": "running",
    }
    assert lanes["lint"] != lanes["test"] and lanes["setup"] == lanes["lint"]  # side by side while both ran
    for step in ("setup", "lint", "test", "report"):  # each bar's anchor, and the one still to come
        assert f'id="step-{step}"' in html
    running = re.search(r'data-step="test".*?<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', chart, re.S)
    assert running and float(running[1]) + float(running[2]) == pytest.approx(CHART_W - CHART_PAD)  # to now
    assert 'hx-get="/work-orders/' + wo.id + '/part/chart" hx-trigger="sse:changed' in html  # refreshed live
    part = (await dashboard.client.get(f"/work-orders/{wo.id}/part/chart")).text
    assert "<html" not in part and svg(part, "time-chart").count('class="bar bar-') == 3


async def test_before_any_step_starts_there_is_no_chart_yet(dashboard: Dashboard, seed: Seed) -> None:
    wo = await seed(status="pending")
    html = (await dashboard.client.get(f"/work-orders/{wo.id}")).text
    assert "time-chart" not in html and "once the first one starts" in html


async def test_a_loops_runs_link_to_their_rows(dashboard: Dashboard, seed: Seed) -> None:
    t0 = utc_now() - timedelta(minutes=1)
    steps = [
        {"step_id": "polish", "status": "running", "started_at": t0},
        {"step_id": "fix#1", "status": "completed", "started_at": t0,
         "completed_at": t0 + timedelta(seconds=5)},
    ]  # fmt: skip
    wo = await seed(status="running", steps=steps)
    html = (await dashboard.client.get(f"/work-orders/{wo.id}")).text

    # A fragment is percent-decoded: `#step-fix%231` finds the row whose id is `step-fix#1`.
    assert '<a href="#step-fix%231" class="bar bar-completed" data-step="fix#1"' in svg(html, "time-chart")
    assert 'id="step-fix#1"' in html
