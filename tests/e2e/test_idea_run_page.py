"""An idea run's page in a real browser (Debian's Chromium through Playwright), served without an
engine from a store the test fills in: the tree drawn with its lines, the page following the run
until it ends, the list of runs under its form. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from pathlib import Path

from browser_kit import layout_problems, screenshot
from playwright.async_api import Page, expect

from shipyard.config import Settings
from shipyard.domain.ideas import IssueStatus, IssueType, RunState
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.records import IdeaRunCreate, PlannedIssue
from shipyard.store.store import Store
from shipyard.web.app import create_app
from support import Migrated, serving


def planned(kind: IssueType, title: str, *children: PlannedIssue) -> PlannedIssue:
    return PlannedIssue(type=kind, title=title, children=list(children))


async def test_the_tree_is_drawn_and_the_page_follows_the_run_until_it_ends(
    page: Page, tmp_path: Path, migrated: Migrated
) -> None:
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell"))
    store = await Store.open(settings.resolved_database_url)
    try:
        repository = str(tmp_path / "greet-a-rather-long-name")
        run = await store.create_run(
            IdeaRunCreate(idea_text="Greeting helpers", repository_url=repository, forge="local",
                          correlation_id=str(uuid.uuid4()))
        )  # fmt: skip
        epic = await store.create_issue(run.id, planned(IssueType.EPIC, "Greeting helpers"))
        task = IssueType.TASK
        features = [
            planned(IssueType.FEATURE, "Hello", planned(task, "Hello module"), planned(task, "Hello tests")),
            planned(IssueType.FEATURE, "Goodbye", planned(task, "Bye module")),
        ]  # fmt: skip
        hello, module, *_ = await store.plant_tree(run.id, epic.id, features)
        await store.update_run(run.id, state=RunState.EXECUTION_LOOP, root_issue_id=epic.id)
        await store.update_issue(
            module.id, status=IssueStatus.REVIEW, branch=f"task/{module.id}-hello-module", pr_number=3,
            pr_url="/api/pull-requests/3", work_order_id="wo-aaaa1111",
        )  # fmt: skip
        app = create_app(WorkOrderService(settings, store, None))
        async with serving(app) as url:
            await page.goto(f"{url}/ideas/{run.id}")
            item = page.locator(f"#issue-{hello.id}")
            await expect(item.locator(f"#issue-{module.id} .issue-title")).to_have_text("Hello module")
            elbow = "(el) => getComputedStyle(el, '::before').borderLeftStyle"
            line = await page.locator(f"#issue-{module.id}").evaluate(elbow)
            assert line == "solid"  # the line from the feature into its task
            for width in (1280, 375):
                await page.set_viewport_size({"width": width, "height": 800})
                await screenshot(page, f"idea-run-{width}x800")
                assert await layout_problems(page) == [], f"at {width} px"

            await store.update_issue(module.id, status=IssueStatus.DONE)
            await store.update_run(run.id, state=RunState.DONE)
            await expect(page.locator(f"#issue-{module.id} .badge")).to_have_text("DONE", timeout=5000)
            await expect(page.locator("#run")).to_have_attribute("data-live", "no")  # it polls no more
            await expect(page.locator(".chip-current")).to_contain_text("Done")

            await page.get_by_role("link", name="Ideas").click()
            await expect(page.locator(f'a[href="/ideas/{run.id}"]')).to_be_visible()
            for width in (1280, 375):
                await page.set_viewport_size({"width": width, "height": 800})
                await screenshot(page, f"ideas-{width}x800")
                assert await layout_problems(page) == [], f"the list at {width} px"
    finally:
        await store.close()
