"""A cluster's plan written and edited in place in a real browser (Debian's Chromium through
Playwright) against the real engine, a bad edit refused with the reason and the text kept, then
the fix started from the page, whose job page follows it (polling) to its pull request. Screenshots
of the clusters, the cluster and the job at 1280 and 375 px go to test-artifacts/screenshots/ and
pass the layout check."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from browser_kit import layout_problems, screenshot
from playwright.async_api import Page, expect

from shipyard.cli.server import RunningServer
from shipyard.config import RunnerConfig, Settings
from shipyard.plans import page_kit
from support import MakeRepo, MakeSettings


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(page_kit, "LIVE_EVERY_S", 0.5)  # the pages poll faster than people need
    replay = tmp_path / "replay.yaml"
    fix = [{"write": "greet.py", "content": "print('hello')\n"}, {"message": "The greeting says hello now."}]
    replay.write_text(yaml.safe_dump({"fix": fix}))
    return make_settings(
        agent="replay", replay_file=replay, runners={"replayed": RunnerConfig(agent="replay")},
        coding_agent_runner="replayed",
    )  # fmt: skip


async def check_layout(page: Page, name: str) -> None:
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 800})
        await screenshot(page, f"{name}-{width}x800")
        assert await layout_problems(page) == [], f"{name} at {width} px"
    await page.set_viewport_size({"width": 1280, "height": 800})


async def test_a_plan_edited_in_place_is_fixed_from_its_page_and_the_job_followed_to_its_pull_request(
    page: Page, server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("widgets", {"greet.py": "print('go away')\n"})
    items = [
        {
            "source": "github",
            "text": "It told me to go away",
            "url": "https://github.com/acme/widgets/issues/7",
        },
        {"source": "email", "text": "Rude greeting on start"},
    ]
    made = await api.post("/api/clusters", json={"title": "Rude greeting", "repo": str(repo), "items": items})
    assert made.status_code == 201, made.text
    await page.goto(f"{server.url}/clusters")
    await check_layout(page, "clusters")
    await page.get_by_role("link", name="Rude greeting").click()
    await expect(page.locator("#active-runner")).to_contain_text("Active runner: replayed")

    await page.get_by_text("Write the plan").click()
    await page.get_by_label("Summary").fill("Make the greeting say hello.")
    await page.get_by_label("Candidate files").fill("greet.py")
    await page.get_by_label("Validation steps").fill("grep -q hello greet.py")
    await page.get_by_role("button", name="Save as a new version").click()
    await expect(page.locator(".notice")).to_have_text("Saved as version 1 of the plan.")
    await expect(page.locator("#plan pre code")).to_have_text("grep -q hello greet.py")

    await page.get_by_text("Edit the plan").click()
    await page.get_by_label("Hypotheses").fill("x" * 2001)
    await page.get_by_role("button", name="Save as a new version").click()
    await expect(page.locator(".alert")).to_have_text(
        "Hypotheses, line 1: String should have at most 2000 characters"
    )
    await expect(page.get_by_label("Hypotheses")).to_have_value("x" * 2001)  # kept, to shorten
    await expect(page.locator("#versions tbody tr")).to_have_count(1)
    await page.get_by_label("Hypotheses").fill("the string says 'go away'")
    await page.get_by_role("button", name="Save as a new version").click()
    await expect(page.locator(".notice")).to_have_text("Saved as version 2 of the plan.")
    await check_layout(page, "cluster")

    await page.get_by_role("button", name="Start fix").click()
    await expect(page.locator("#job-head .badge")).to_have_text("succeeded", timeout=30_000)
    await expect(page.locator("#job-log")).to_contain_text("The greeting says hello now.")
    pr = page.locator("#job-head a[href^='/api/pull-requests/']")
    await expect(pr).to_be_visible()
    await expect(page.get_by_role("button", name="Cancel…")).to_have_count(0)
    await check_layout(page, "job")
