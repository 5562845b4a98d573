"""An idea run driven from its pages in a real browser (Debian's Chromium through Playwright)
against the real engine: the idea typed into the intake form as a dry run, the chips and the
timeline following the run, /pause and /resume in the chat holding the run and letting it go on,
the tree (drawn with its lines) opened down to a task whose pull request link is followed; what
the dry run left in the repository. Screenshots of the run and of the list of runs at 1280 and
375 px wide (and one dark) go to test-artifacts/screenshots/ and pass the layout check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from browser_kit import layout_problems, screenshot
from playwright.async_api import Page, expect
from test_idea_runs import SPEC, task

from shipyard.cli.server import RunningServer
from shipyard.config import Settings
from shipyard.ideas import page_kit
from support import MakeRepo, MakeSettings

PLAN = {
    "features": [
        {
            "title": "Hello",
            "tasks": [task("Hello module", "hello.py", "X = 1\n"), task("Hello tests", "t.py", "")],
        }
    ]
}


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(page_kit, "LIVE_EVERY_S", 0.5)  # the pages poll faster than people need
    replay = tmp_path / "replay.yaml"
    replay.write_text(
        yaml.safe_dump(
            {
                "spec": [{"sleep": 1.5}, {"write": SPEC, "content": "# spec\n"}, {"message": "spec written"}],
                "plan": [{"message": json.dumps(PLAN)}],
            }
        )
    )
    return make_settings(agent="replay", replay_file=replay)


async def say(page: Page, text: str, answer: str) -> None:
    """Send `text` in the chat and wait for the system's answer."""
    await page.get_by_label("A message, or a command").fill(text)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".msg-system .msg-text").last).to_contain_text(answer)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def flatten(issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [issue, *(i for child in issue["children"] for i in flatten(child))]


async def test_an_idea_typed_as_a_dry_run_is_followed_held_and_let_go_from_its_page(
    page: Page, server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo("greet", {"README.md": "# greet\n"})
    main = git(repo, "rev-parse", "main")
    await page.goto(f"{server.url}/ideas")
    await page.get_by_label("The idea").fill("Greeting helpers\n\nSay hello.")
    await page.get_by_label("Repository").fill(str(repo))
    await page.get_by_label("Dry run").check()
    await page.get_by_role("button", name="Submit the idea").click()
    await expect(page.locator(".chip-current")).to_contain_text("Spec")
    run_id = page.url.rsplit("/", 1)[-1]
    assert run_id.startswith("run-")

    await say(page, "/pause", "Paused: the run holds before its next work order.")
    await expect(page.locator(".chip-current")).to_contain_text("Branch", timeout=15_000)  # planted, held
    await expect(page.locator("#run-head .badge-paused")).to_be_visible()
    steps = page.locator("#timeline .step")
    held = await steps.count()
    await page.wait_for_timeout(1000)
    assert await steps.count() == held  # nothing moves while it is held
    assert await page.locator('#timeline [data-type="workflow.step.started"]').count() == 1  # the spec's only

    hello = page.locator(".issue-feature").first
    await expect(hello.locator(".issue-task").first).to_be_hidden()
    await hello.locator("summary").first.click()  # open the feature: its tasks show
    await expect(hello.locator(".issue-task .issue-title").first).to_have_text("Hello module")
    elbow = "(el) => getComputedStyle(el, '::before').borderLeftStyle"
    assert await hello.locator(".issue-task").first.evaluate(elbow) == "solid"  # the line into the task

    await say(page, "/resume", "Resumed: the run goes on.")
    await expect(page.locator(".chip-current")).to_contain_text("Done", timeout=20_000)
    assert [await chip.get_attribute("class") for chip in await page.locator(".run-chips .chip").all()] == [
        "chip chip-passed",
        "chip chip-passed",
        "chip chip-passed",
        "chip chip-skipped",
        "chip chip-skipped",
        "chip chip-skipped",
        "chip chip-skipped",
        "chip chip-current",
    ]  # fmt: skip  a dry run branches and drafts, and builds nothing
    assert await steps.count() > held
    await expect(page.locator("#timeline .step").last).to_contain_text(
        "dry run: 4 branches and draft pull requests"
    )
    await expect(hello.locator(".issue-task").first).to_be_visible()  # still open after the redraws

    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 800})
        await screenshot(page, f"idea-live-{width}x800")
        assert await layout_problems(page) == [], f"at {width} px"
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "idea-live-375x800-dark")
    assert await layout_problems(page) == [], "dark, at 375 px"

    module = hello.locator(".issue-task").first
    branch = await module.locator(".issue-links .mono").first.inner_text()
    await module.locator(".pr-link").click()
    pull = json.loads(await page.locator("body").inner_text())["pull_request"]
    assert (pull["head_branch"], pull["draft"], pull["state"]) == (branch, True, "open")

    # What the dry run left: per issue its branch with its text and a draft pull request; no code.
    [epic] = (await api.get(f"/api/runs/{run_id}/issues")).json()["issues"]
    for issue in flatten(epic):
        pull = (await api.get(f"/api/pull-requests/{issue['prNumber']}")).json()["pull_request"]
        assert (pull["head_branch"], pull["draft"], pull["state"]) == (issue["branch"], True, "open")
        assert issue["status"] == "REVIEW"
        files = git(repo, "ls-tree", "-r", "--name-only", issue["branch"]).splitlines()
        assert f"specs/issues/{issue['id']}-" in "\n".join(files) and "hello.py" not in files
    assert SPEC in git(repo, "ls-tree", "-r", "--name-only", epic["branch"])
    assert git(repo, "rev-parse", "integration") == main  # nothing merged
    run = (await api.get(f"/api/runs/{run_id}")).json()
    assert {e["data"]["work"] for e in run["timeline"] if e["type"] == "workflow.step.started"} == {
        "spec",
        "draft",
    }

    await page.goto(f"{server.url}/ideas/{run_id}")
    await page.get_by_role("link", name="Ideas").click()
    await expect(page.locator(f'a[href="/ideas/{run_id}"]')).to_be_visible()
    await page.emulate_media(color_scheme="light")
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 800})
        await screenshot(page, f"ideas-{width}x800")
        assert await layout_problems(page) == [], f"the list at {width} px"
