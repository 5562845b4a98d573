"""The metrics page and /api/metrics over seeded finished work orders: figures per group and
runner, the series per day or week, and its charts drawn as inline SVG."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from dashboard_kit import Dashboard, Seed

from shipyard.domain.models import Usage

SATURDAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


@pytest.fixture
async def finished(seed: Seed) -> None:
    """Two work orders a runner started on Saturday (one cost $0.40), one failed on Monday."""
    for seconds, cost in ((60, 0.4), (180, None)):
        await seed(
            status="completed", trigger={"source": "plan", "runner": "claude-fixer"},
            execution_started_at=SATURDAY - timedelta(seconds=seconds), execution_completed_at=SATURDAY,
            usage=Usage(input_tokens=1200, output_tokens=300, cost_usd=cost),
        )  # fmt: skip
    await seed(
        status="failed", error_message="exit code 1", usage=Usage(cost_usd=0.1),
        execution_started_at=MONDAY - timedelta(seconds=5), execution_completed_at=MONDAY,
    )  # fmt: skip


def charts(html: str) -> dict[str, str]:
    """Each chart's SVG by its kind."""
    return dict(
        re.findall(r'<svg class="picture trend-chart"[^>]*data-chart="(\w+)">(.*?)</svg>', html, re.S)
    )


def columns(svg: str) -> list[tuple[str, str]]:
    """(bucket start, value) of each bar."""
    return re.findall(r'<rect class="column"[^>]*data-start="([\d-]+)" data-value="([\d.]+)"', svg)


@pytest.mark.usefixtures("finished")
async def test_the_page_draws_runs_runtime_and_spend_per_day(dashboard: Dashboard) -> None:
    resp = await dashboard.client.get("/metrics")
    assert resp.status_code == 200
    drawn = charts(resp.text)
    assert list(drawn) == ["runs", "runtime", "spend"]
    assert columns(drawn["runs"]) == [("2026-11-28", "2"), ("2026-11-29", "0"), ("2026-11-30", "1")]
    assert columns(drawn["spend"]) == [("2026-11-28", "0.4"), ("2026-11-29", "0.0"), ("2026-11-30", "0.1")]
    assert "<title>Runs per day and success rate</title>" in drawn["runs"]
    assert 'role="img" aria-label="Runs per day and success rate. 3 runs from 2026-11-28' in resp.text
    assert len(re.findall(r'<circle class="mark"', drawn["runs"])) == 2  # no rate on the empty day
    assert "2026-11-28: 100 % succeeded" in drawn["runs"] and "0 %</text>" in drawn["runs"]
    assert "<title>2026-11-28: median 2:00</title>" in drawn["runtime"]  # of 60 s and 180 s
    assert ">28 Nov</text>" in drawn["spend"] and ">$0.40</text>" in drawn["spend"]  # an axis label


@pytest.mark.usefixtures("finished")
async def test_the_page_shows_mean_spend_and_runners_and_goes_per_week(dashboard: Dashboard) -> None:
    html = (await dashboard.client.get("/metrics")).text
    assert "By runner" in html and ">claude-fixer</td>" in html
    assert "$0.50" in html and "+1 unpriced" in html  # the Saturday run without a cost
    assert 'Mean runtime</span><span class="value">2:00<' in html  # of the completed ones
    weekly = await dashboard.client.get("/metrics", params={"bucket": "week"})
    runs = charts(weekly.text)["runs"]
    assert columns(runs) == [("2026-11-23", "2"), ("2026-11-30", "1")]  # Saturday's week, Monday's
    assert "<title>Runs per week and success rate</title>" in runs
    assert 'href="/metrics?bucket=week" aria-current="page"' in weekly.text
    bad = await dashboard.client.get("/metrics", params={"bucket": "month"})
    assert bad.status_code == 422 and "unknown bucket" in bad.text and "<html" in bad.text


async def test_nothing_finished_draws_no_chart(dashboard: Dashboard) -> None:
    html = (await dashboard.client.get("/metrics")).text
    assert charts(html) == {} and "Nothing has finished yet." in html


@pytest.mark.usefixtures("finished")
async def test_the_api_gives_groups_and_the_series_per_week(dashboard: Dashboard) -> None:
    api = (await dashboard.client.get("/api/metrics", params={"bucket": "week"})).json()
    assert api["bucket"] == "week"
    assert [(p["start"], p["runs"], p["completed"], p["failed"]) for p in api["series"]] == [
        ("2026-11-23", 2, 2, 0), ("2026-11-30", 1, 0, 1),
    ]  # fmt: skip
    assert api["series"][0]["runtime_p50_s"] == 120 and api["series"][0]["cost_usd"] == 0.4
    [runner] = api["by_runner"]
    assert (runner["name"], runner["total"], runner["runtime_mean_s"]) == ("claude-fixer", 2, 120)
    assert (runner["cost_usd"], runner["unpriced"], runner["input_tokens"]) == (0.4, 1, 2400)
    overall = api["overall"]
    assert overall["cost_usd"] == pytest.approx(0.5) and overall["output_tokens"] == 600
    daily = (await dashboard.client.get("/api/metrics")).json()
    assert daily["bucket"] == "day" and [p["runs"] for p in daily["series"]] == [2, 0, 1]


async def test_the_api_refuses_an_unknown_bucket(dashboard: Dashboard) -> None:
    resp = await dashboard.client.get("/api/metrics", params={"bucket": "fortnight"})
    assert resp.status_code == 422
    assert resp.json() == {
        "error": {"code": "invalid_input", "message": "unknown bucket 'fortnight'; one of: day, week"}
    }
