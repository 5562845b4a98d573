"""The dashboard in a real browser (Debian's Chromium through Playwright) against a real server
with its engine: start a work order from the form, watch it live, read the diff, cancel one.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import yaml
from browser_kit import layout_problems, screenshot
from playwright.async_api import Browser, Page, expect

from shipyard.cli.server import RunningServer
from support import MakeRepo, wait_done

APP = 'def hello():\n    return "hi"\n'


def repository(make_repo: MakeRepo, name: str = "widgets") -> Path:
    """A repository whose `/implement` command is the prompt itself, so the `shell` agent runs the
    prompt of agent_workflow_build as the script it is."""
    return make_repo(
        name, {"app.py": APP, "README.md": "# widgets\n", ".claude/commands/implement.md": "$ARGUMENTS\n"}
    )


def script(flag: Path) -> str:
    """Prints a line, waits until the test says go, then prints more and changes app.py."""
    return (
        f"echo first-line; while [ ! -f {flag} ]; do sleep 0.1; done; "
        "for i in 1 2 3; do echo after-go-$i; done; "
        "printf 'def hello():\\n    return \"hello, world\"\\n' > app.py"
    )


async def check_layout(page: Page, name: str) -> None:
    """Screenshots at 1280x800 and 375x800, each checked for overlapping, cut-off or too wide text."""
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.wait_for_timeout(100)
        await screenshot(page, f"{name}-{width}x800")
        problems = await layout_problems(page)
        assert problems == [], f"{name} at {width} px: {problems}"
    await page.set_viewport_size({"width": 1280, "height": 800})


async def test_a_new_user_starts_a_work_order_and_watches_it_to_the_end(
    page: Page, browser: Browser, server: RunningServer, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = repository(make_repo)
    flag = tmp_path / "go"
    watcher = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await watcher.goto(server.url + "/")
    await expect(watcher.get_by_text("No work orders yet")).to_be_visible()

    await page.goto(server.url + "/")
    await page.get_by_role("link", name="New work order").click()
    await page.get_by_label("A local path or a GitHub URL").fill(str(repo))
    await page.get_by_role("button", name="Verify").click()
    verified = page.locator("#verify")
    await expect(verified).to_contain_text("✓ local/widgets")
    await expect(verified).to_contain_text("default branch main")
    await expect(page.locator("input[name=sandbox_type][value=git_worktree]")).to_be_checked()
    await expect(page.locator("input[name=sandbox_type][value=e2b]")).to_be_disabled()
    await page.locator("input[name=workflow_type][value=agent_workflow_build]").check()
    await page.locator("input[name=agent][value=shell]").check()
    await page.locator("#prompt").fill(script(flag))
    await check_layout(page, "new-work-order")
    await page.get_by_role("button", name="Start the work order").click()

    await expect(page).to_have_url(re.compile(r"/work-orders/wo-[0-9a-z]{8}$"))
    wid = page.url.rsplit("/", 1)[-1]
    await page.evaluate("window.loadedOnce = true")
    log = page.locator("#log-lines")
    await expect(log).to_contain_text("first-line", timeout=30_000)
    await expect(page.locator("#steps .step-running")).to_contain_text("build")
    await expect(watcher.locator(f'a[href="/work-orders/{wid}"]')).to_be_visible(
        timeout=15_000
    )  # a new row, live
    flag.touch()
    await expect(log).to_contain_text("after-go-3", timeout=30_000)
    await expect(page.locator("#head .badge")).to_have_text("completed", timeout=60_000)
    await expect(page.locator("#steps .step-completed")).to_have_count(2)  # build and pr
    diff = page.locator("#diff")
    await expect(diff).to_contain_text("app.py")
    await expect(diff.locator("tr.add")).to_contain_text('return "hello, world"')
    await expect(diff.locator("tr.del")).to_contain_text('return "hi"')
    await expect(page.locator("#progress")).to_contain_text("1 commit")
    assert await page.evaluate("window.loadedOnce") is True  # all of it arrived without a reload
    await expect(watcher.locator("tr", has_text=wid).locator(".badge")).to_have_text(
        "completed", timeout=15_000
    )

    # The metrics page's bars (span.bar) clip their insides; the time chart's (SVG links of class
    # `bar`) must not: a label scrolled half out of a narrow screen read as cut off.
    style = "getComputedStyle(document.querySelector('.time-chart .bar')).overflow"
    assert await page.evaluate(style) == "visible"
    await check_layout(page, "work-order-detail")
    await check_layout(watcher, "work-orders-list")
    async with page.expect_navigation():
        await page.locator("#head a[href^='/api/pull-requests/']").click()
    assert '"head_branch"' in await page.content()  # the pull request record it opened


async def test_cancelling_from_the_page_stops_the_work_order(
    page: Page, server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    definition = yaml.safe_dump(
        {"name": "nap", "steps": [{"id": "nap", "run": f"touch {started}; sleep 600"}]}
    )
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(make_repo()), "workflow_definition": definition}
    )
    wid = resp.json()["agent_work_order"]["agent_work_order_id"]
    async with asyncio.timeout(60):
        while not started.exists():
            await asyncio.sleep(0.1)
    await page.goto(f"{server.url}/work-orders/{wid}")
    await expect(page.locator("#head .badge")).to_have_text("running")
    await page.get_by_text("Cancel…").click()
    await page.get_by_placeholder("reason (optional)").fill("changed my mind")
    await page.get_by_role("button", name="Yes, cancel it").click()
    await expect(page.get_by_role("status")).to_contain_text("Cancel requested")
    assert (await wait_done(api, wid, timeout_s=60))["status"] == "cancelled"
    await page.reload()
    await expect(page.locator("#head .badge")).to_have_text("cancelled")
    await expect(page.locator("#head")).to_contain_text("changed my mind")
    await expect(page.get_by_role("button", name="Retry from the failed step")).to_be_visible()


async def test_five_thousand_log_lines_are_drawn_a_page_at_a_time(
    page: Page, server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    definition = yaml.safe_dump({"name": "noisy", "steps": [{"id": "noisy", "run": "seq -f 'line-%g' 5000"}]})
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(make_repo()), "workflow_definition": definition}
    )
    wid = resp.json()["agent_work_order"]["agent_work_order_id"]
    assert (await wait_done(api, wid, timeout_s=180))["status"] == "completed"
    await page.goto(f"{server.url}/work-orders/{wid}")
    lines = page.locator("#log-lines li.line")
    await expect(lines).to_have_count(200)
    await expect(lines.last).to_contain_text("workflow.completed")
    await page.get_by_role("link", name=re.compile(r"Show earlier lines \(\d+ more\)")).click()
    await expect(lines).to_have_count(400)
    box = page.locator("#log-lines")
    assert await box.evaluate("b => b.scrollHeight > b.clientHeight")  # it scrolls; the page does not grow
    assert await page.evaluate("document.documentElement.scrollHeight") < 4000


async def test_pages_read_without_javascript_and_by_keyboard(
    browser: Browser, server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    definition = yaml.safe_dump(
        {
            "name": "edit",
            "steps": [{"id": "edit", "run": "echo changed >> README.md; echo said-so", "commit": "edit"}],
        }
    )
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(make_repo()), "workflow_definition": definition}
    )
    wid = resp.json()["agent_work_order"]["agent_work_order_id"]
    await wait_done(api, wid)
    context = await browser.new_context(java_script_enabled=False, color_scheme="dark")
    plain = await context.new_page()
    await plain.goto(f"{server.url}/work-orders/{wid}")
    await expect(plain.locator("#steps")).to_contain_text("edit")
    await expect(plain.locator("#log-lines")).to_contain_text("said-so")
    await expect(plain.locator("#diff tr.add")).to_contain_text("changed")
    await screenshot(plain, "work-order-detail-dark-no-js")
    await plain.goto(f"{server.url}/?q={wid}")
    await expect(plain.locator("table.work-orders tbody tr")).to_have_count(1)
    await context.close()

    keyboard = await (await browser.new_context()).new_page()
    await keyboard.goto(f"{server.url}/")
    await keyboard.keyboard.press("Tab")
    assert await keyboard.evaluate("document.activeElement.textContent") == "Skip to content"
    await keyboard.keyboard.press("Enter")
    assert await keyboard.evaluate("document.activeElement.id") == "main"
    await keyboard.goto(f"{server.url}/work-orders/new")
    await keyboard.focus("#repository_url")
    await keyboard.keyboard.press("Tab")
    assert await keyboard.evaluate("document.activeElement.textContent.trim()") == "Verify"


async def test_the_log_follows_new_lines_until_the_reader_scrolls_up(
    page: Page, server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    steps = [{"id": "talk", "run": (
        f"for i in $(seq 1 60); do echo tick-$i; done; while [ ! -f {go} ]; do sleep 0.1; done; "
        "for i in $(seq 61 1300); do echo tick-$i; done"
    )}]  # fmt: skip
    definition = yaml.safe_dump({"name": "talk", "steps": steps})
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(make_repo()), "workflow_definition": definition}
    )
    wid = resp.json()["agent_work_order"]["agent_work_order_id"]
    await page.goto(f"{server.url}/work-orders/{wid}")
    box = page.locator("#log-lines")
    await expect(box).to_contain_text("tick-60", timeout=30_000)
    await expect(box).to_have_attribute("data-following", "yes")  # the page's script has set it up
    at_bottom = "b => b.scrollHeight - b.scrollTop - b.clientHeight <= 24"
    assert await box.evaluate(at_bottom)
    await box.evaluate("b => { b.scrollTop = 0; b.dispatchEvent(new Event('scroll')); }")
    follow = page.get_by_role("button", name="↓ Follow the log")
    await expect(follow).to_be_visible()
    go.touch()
    # The last line: the page keeps the latest 1,000, so an early one may be gone already when the
    # burst arrives in a few batches.
    await expect(box).to_contain_text("tick-1300", timeout=30_000)
    assert await box.evaluate("b => b.scrollTop") == 0  # the reader stays where they are
    await follow.click()
    await expect(follow).to_be_hidden()
    await expect(page.locator("#head .badge")).to_have_text("completed", timeout=60_000)
    await expect(box).to_contain_text("workflow.completed")
    assert await box.evaluate(at_bottom)  # following again, to the last line
    count = await page.locator("#log-lines li.line").count()
    assert 200 < count <= 1000  # at most 1,000 lines in the page however many arrive
    earlier = page.locator("#log-lines li.earlier a")
    await expect(earlier).to_have_text(re.compile("Show earlier lines"))
    await earlier.click()
    await expect(page.locator("#log-lines li.line")).to_have_count(count + 200)


async def test_a_failed_refresh_and_a_lost_connection_are_said_in_the_page(
    page: Page, server: RunningServer, api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    definition = yaml.safe_dump({"name": "held", "steps": [{"id": "hold", "gate": {"message": "wait"}}]})
    resp = await api.post(
        "/api/agent-work-orders", json={"repository_url": str(make_repo()), "workflow_definition": definition}
    )
    wid = resp.json()["agent_work_order"]["agent_work_order_id"]
    await page.goto(f"{server.url}/work-orders/{wid}")
    await expect(page.locator("#head")).to_contain_text("Waiting at gate", timeout=30_000)
    trouble = page.locator("#trouble")
    await expect(trouble).to_be_hidden()
    await page.route("**/part/**", lambda route: route.fulfill(status=500, body="broken"))
    assert (
        await api.post(f"/api/agent-work-orders/{wid}/approve", json={"response": "ok"})
    ).status_code == 200
    await expect(trouble).to_contain_text("the server answered 500", timeout=30_000)
    await page.unroute("**/part/**")

    await page.route("**/live*", lambda route: route.abort())
    await page.goto(f"{server.url}/")
    await expect(trouble).to_contain_text("Live updates lost their connection")
