"""The idea runs' pages (seed 002) as a browser without JavaScript gets them: the runs under the
form that submits an idea, one run with its state chips, issue tree and timeline, the refusals."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

from dashboard_kit import Dashboard

from shipyard.domain.ideas import IssueStatus, IssueType, RunState
from shipyard.store.records import IdeaRunCreate, IdeaRunRecord, IssueNodeRecord, PlannedIssue
from shipyard.store.store import Store
from support import MakeRepo

XSS = "<script>alert(1)</script>"


async def make_run(
    store: Store, idea_text: str = "Greeting helpers\n\nSay hello.", **fields: object
) -> IdeaRunRecord:
    run = await store.create_run(
        IdeaRunCreate(
            idea_text=idea_text, repository_url="/src/greet", forge="local",
            options={"size": "small"}, correlation_id=str(uuid.uuid4()),
        )
    )  # fmt: skip
    await store.add_run_event(run.id, "run.state", phase=run.state.value, msg="idea submitted")
    return await store.update_run(run.id, **fields) if fields else run


async def move(store: Store, run: IdeaRunRecord, *states: RunState, error: str | None = None) -> None:
    """The run through `states`, each logged as the run's workflow logs it."""
    for state in states:
        ending = {"error": error} if state.is_terminal else {}
        run = await store.update_run(run.id, state=state, **ending)
        level = "error" if state == RunState.FAILED else "info"
        await store.add_run_event(
            run.id, "run.state", phase=state.value, msg=f"now {state.value.lower()}", level=level,
            data={"state": state.value, "error": error},
        )  # fmt: skip


def task(title: str) -> PlannedIssue:
    return PlannedIssue(type=IssueType.TASK, title=title)


async def plant(store: Store, run: IdeaRunRecord) -> list[IssueNodeRecord]:
    """Epic → Hello (two tasks), Goodbye (one task), the first task built, the second in review."""
    epic = await store.create_issue(run.id, PlannedIssue(type=IssueType.EPIC, title="Greeting helpers"))
    await store.update_run(run.id, root_issue_id=epic.id)
    features = [
        PlannedIssue(type=IssueType.FEATURE, title="Hello", children=[task("Hello module"), task(XSS)]),
        PlannedIssue(type=IssueType.FEATURE, title="Goodbye", children=[task("Bye module")]),
    ]
    await store.plant_tree(run.id, epic.id, features)
    epic, hello, module, script = (await store.list_issues(run.id))[:4]
    await store.update_issue(
        epic.id, status=IssueStatus.IN_PROGRESS, branch=f"epic/{epic.id}-greeting-helpers"
    )
    await store.update_issue(hello.id, status=IssueStatus.IN_PROGRESS, branch=f"feature/{hello.id}-hello")
    await store.update_issue(
        module.id, status=IssueStatus.DONE, branch=f"task/{module.id}-hello-module", pr_number=7,
        pr_url="https://github.com/acme/greet/pull/7", work_order_id="wo-aaaa1111",
    )  # fmt: skip
    await store.update_issue(
        script.id, status=IssueStatus.REVIEW, branch=f"task/{script.id}-script-alert-1-script",
        pr_number=8, pr_url="/api/pull-requests/8", work_order_id="wo-bbbb2222",
    )  # fmt: skip
    await store.update_run(run.id, current_issue_id=script.id)
    return await store.list_issues(run.id)


@dataclass
class Node:
    parent: int | None
    text: str = ""
    links: list[str] = field(default_factory=list)


class TreeReader(HTMLParser):
    """The issues of a page's tree (`li[data-issue]`): in page order, each with the issue whose
    element it sits in, its own text and links (not its children's)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[int | None] = []
        self.nodes: dict[int, Node] = {}

    def _inside(self) -> int | None:
        return next((id for id in reversed(self.open) if id is not None), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "li":
            id = int(found["data-issue"] or 0) if "data-issue" in found else None
            if id is not None:
                self.nodes[id] = Node(parent=self._inside())
            self.open.append(id)
        elif tag == "a" and self._inside() is not None:
            self.nodes[self._inside()].links.append(found.get("href") or "")  # type: ignore[index]

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.open.pop()

    def handle_data(self, data: str) -> None:
        inside = self._inside()
        if inside is not None:
            self.nodes[inside].text += data


def tree_of(html: str) -> dict[int, Node]:
    reader = TreeReader()
    reader.feed(html)
    return {id: Node(n.parent, " ".join(n.text.split()), n.links) for id, n in reader.nodes.items()}


def chips_of(html: str) -> list[tuple[str, str]]:
    """(label, mark) of each state chip."""
    found = re.findall(r'class="chip chip-(\w+)"[^>]*>.*?</span>\s*(\w+)<', html, re.S)
    return [(label, mark) for mark, label in found]


async def test_the_runs_list_newest_first_with_state_idea_and_repository(dashboard: Dashboard) -> None:
    older = await make_run(dashboard.store, "Old idea\nmore lines")
    await move(dashboard.store, older, RunState.SPEC_WRITING, RunState.FAILED, error="no spec")
    newer = await make_run(dashboard.store, f"{XSS} first line\nsecond line")
    html = (await dashboard.client.get("/ideas")).text
    assert re.findall(r'href="/ideas/(run-[0-9a-f]{8})"', html) == [newer.id, older.id]
    assert re.search(rf"badge-failed\">FAILED</span>.*?{older.id}.*?Old idea</td>", html, re.S)
    assert 'badge-waiting">IDEA_SUBMITTED</span>' in html
    assert "second line" not in html and "more lines" not in html  # the first line only
    assert "&lt;script&gt;alert(1)&lt;/script&gt; first line" in html and XSS not in html
    assert ">greet</td>" in html and 'title="/src/greet"' in html
    assert 'action="/ideas"' in html and 'name="idea_text"' in html and 'value="large"' in html
    assert "2 runs" in html and 'aria-current="page">Ideas<' in html


async def test_the_runs_list_is_paged(dashboard: Dashboard) -> None:
    runs = [await make_run(dashboard.store, f"idea {n}") for n in range(26)]
    first = (await dashboard.client.get("/ideas")).text
    second = (await dashboard.client.get("/ideas", params={"page": 2})).text
    assert first.count('href="/ideas/run-') == 25 and "page 1 of 2" in first
    assert 'href="/ideas?page=2" rel="next"' in first
    assert re.findall(r'href="/ideas/(run-[0-9a-f]{8})"', second) == [runs[0].id]
    assert (await dashboard.client.get("/ideas", params={"page": 0})).status_code == 422
    empty = (await dashboard.client.get("/ideas", params={"page": 3})).text
    assert "No ideas yet" in empty


async def test_the_run_page_draws_the_issue_tree_nested_in_tree_order(dashboard: Dashboard) -> None:
    run = await make_run(dashboard.store)
    await move(dashboard.store, run, RunState.SPEC_WRITING, RunState.ISSUE_TREE, RunState.EXECUTION_LOOP)
    epic, hello, module, script, goodbye, bye = await plant(dashboard.store, run)
    html = (await dashboard.client.get(f"/ideas/{run.id}")).text
    tree = tree_of(html)
    assert list(tree) == [epic.id, hello.id, module.id, script.id, goodbye.id, bye.id]
    assert {id: n.parent for id, n in tree.items()} == {
        epic.id: None, hello.id: epic.id, module.id: hello.id, script.id: hello.id,
        goodbye.id: epic.id, bye.id: goodbye.id,
    }  # fmt: skip
    assert (
        tree[epic.id].text == f"epic #{epic.id} Greeting helpers IN_PROGRESS epic/{epic.id}-greeting-helpers"
    )
    assert tree[hello.id].text == f"feature #{hello.id} Hello IN_PROGRESS feature/{hello.id}-hello"
    assert tree[module.id].text == (
        f"task #{module.id} Hello module DONE task/{module.id}-hello-module PR #7 wo-aaaa1111 Its comments"
    )
    assert tree[module.id].links == [
        "https://github.com/acme/greet/pull/7", "/work-orders/wo-aaaa1111",
        f"/ideas/{run.id}/issues/{module.id}/conversation",  # what its pull request's thread says
    ]  # fmt: skip
    assert tree[script.id].text.startswith(f"task #{script.id} {XSS} REVIEW now task/")  # the one running
    assert tree[script.id].links == [
        "/api/pull-requests/8", "/work-orders/wo-bbbb2222", f"/ideas/{run.id}/issues/{script.id}/conversation"
    ]  # fmt: skip
    assert tree[bye.id].text == f"task #{bye.id} Bye module NEW" and tree[bye.id].links == []
    await dashboard.store.update_issue(bye.id, pr_url="javascript:alert(1)")
    again = tree_of((await dashboard.client.get(f"/ideas/{run.id}")).text)
    assert again[bye.id].links == [] and again[bye.id].text.endswith("PR javascript:alert(1)")  # not a link
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and XSS not in html


async def test_the_run_page_shows_chips_timeline_and_controls_and_stays_live(dashboard: Dashboard) -> None:
    run = await make_run(dashboard.store)
    await move(dashboard.store, run, RunState.SPEC_WRITING, RunState.ISSUE_TREE, RunState.EXECUTION_LOOP)
    await dashboard.store.add_run_event(run.id, "issue.updated", phase="EXECUTION_LOOP", msg=f"built {XSS}")
    await dashboard.store.add_run_event(
        run.id, "merge.refused", phase="EXECUTION_LOOP", msg="checks failing", level="warning"
    )
    html = (await dashboard.client.get(f"/ideas/{run.id}")).text
    assert chips_of(html) == [
        ("Spec", "passed"), ("Plan", "passed"), ("Branch", "current"), ("Dev", "ahead"), ("QA", "ahead"),
        ("Merge", "ahead"), ("Release", "ahead"), ("Done", "ahead"),
    ]  # fmt: skip
    assert re.search(r'chip-current" data-stage="branch" aria-current="step"', html)
    messages = re.findall(r'class="step step-(\w+) lvl-(\w+)".*?class="entry-text">(.*?)</span>', html, re.S)
    assert messages == [
        ("running", "info", "idea submitted"), ("running", "info", "now spec_writing"),
        ("running", "info", "now issue_tree"), ("running", "info", "now execution_loop"),
        ("idle", "info", "built &lt;script&gt;alert(1)&lt;/script&gt;"),
        ("waiting", "warning", "checks failing"),
    ]  # fmt: skip
    assert "The tree appears once the spec is written" in html
    for action in ("pause", "cancel"):
        assert f'action="/ideas/{run.id}/{action}"' in html
    assert f"/ideas/{run.id}/resume" not in html
    assert re.search(rf'sse-connect="/ideas/{run.id}/events\?after=\d+" sse-close="end"', html)
    trigger = r'hx-trigger="sse:changed delay:300ms, sse:end, run-changed'
    live = re.search(rf'hx-get="/ideas/{run.id}/live\?seen=(\w+)"\s+{trigger}', html)
    assert live is not None  # asked for again as the run's stream says it changed

    seen = {"seen": live.group(1)}
    assert (await dashboard.client.get(f"/ideas/{run.id}/live", params=seen)).status_code == 204
    await dashboard.store.update_run(run.id, paused=True, interrupt_reason="lunch")
    part = await dashboard.client.get(f"/ideas/{run.id}/live", params=seen)
    assert part.status_code == 200 and "<html" not in part.text and 'id="run"' in part.text
    assert "badge-paused" in part.text and "lunch" in part.text and f"/ideas/{run.id}/resume" in part.text
    assert f'action="/ideas/{run.id}/advance"' in part.text  # a held run can be advanced

    await move(dashboard.store, run, RunState.MERGE, RunState.RELEASE, RunState.DONE)
    done = await dashboard.client.get(f"/ideas/{run.id}/live", params=seen)
    assert 'data-live="no"' in done.text and "sse:changed" not in done.text  # it listens no more
    stream = (await dashboard.client.get(f"/ideas/{run.id}/events")).text  # ended: the stream ends too
    assert stream.startswith("event: changed\n") and stream.endswith("event: end\ndata: {}\n\n")
    assert 'hx-trigger="run-changed from:body"' in done.text  # a retry from the chat wakes it
    assert chips_of(done.text)[2:] == [
        ("Branch", "passed"), ("Dev", "skipped"), ("QA", "skipped"), ("Merge", "passed"),
        ("Release", "passed"), ("Done", "current"),
    ]  # fmt: skip
    assert 'action="/ideas/' not in done.text  # no controls for an ended run


async def test_a_failed_run_shows_where_it_stopped_and_why(dashboard: Dashboard) -> None:
    run = await make_run(dashboard.store)
    await move(dashboard.store, run, RunState.SPEC_WRITING, RunState.ISSUE_TREE)
    await move(dashboard.store, run, RunState.FAILED, error=f"the plan broke a rule: {XSS}")
    html = (await dashboard.client.get(f"/ideas/{run.id}")).text
    assert chips_of(html)[:3] == [("Spec", "passed"), ("Plan", "failed"), ("Branch", "ahead")]
    assert 'badge-failed">FAILED<' in html
    assert 'role="alert">the plan broke a rule: &lt;script&gt;alert(1)&lt;/script&gt;</p>' in html
    assert "every 2s" not in html and "Cancel…" not in html


async def test_unknown_and_malformed_runs_are_refused_as_pages(dashboard: Dashboard) -> None:
    client = dashboard.client
    missing = await client.get("/ideas/run-00000000")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "Not found" in missing.text and "run &#39;run-00000000&#39; not found" in missing.text
    assert (await client.get("/ideas/run-00000000/live")).status_code == 404
    bad = await client.get("/ideas/run-<b>x")
    assert bad.status_code == 422 and "<b>x" not in bad.text and "should match pattern" in bad.text
    assert (await client.post("/ideas/run-00000000/pause")).status_code == 404
    assert (await client.get("/ideas/run-00000000/live", params={"seen": "x" * 65})).status_code == 422


async def test_submitting_without_an_engine_shows_the_refusal_in_the_form(
    dashboard: Dashboard, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    form = {"idea_text": f"Greeting helpers {XSS}", "repo": str(repo), "size": "large"}
    resp = await dashboard.client.post("/ideas", data=form)
    assert resp.status_code == 409 and 'role="alert">this process has no engine' in resp.text
    assert (
        f'value="{repo}"' in resp.text
        and "Greeting helpers &lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in resp.text
    )
    assert '<option value="large" selected>' in resp.text  # nothing chosen is lost
    assert (await dashboard.store.list_runs())[1] == 0
    blank = await dashboard.client.post("/ideas", data={**form, "idea_text": "  "})
    assert blank.status_code == 422 and "Write the idea first." in blank.text
    no_repo = await dashboard.client.post("/ideas", data={**form, "repo": " "})
    assert no_repo.status_code == 422 and "Enter a repository" in no_repo.text
    nul = await dashboard.client.post("/ideas", data={**form, "idea_text": "a\x00b"})
    assert nul.status_code == 422 and "NUL" in nul.text
    huge = await dashboard.client.post("/ideas", data={**form, "size": "huge"})
    assert (
        huge.status_code == 422
        and "size: Input should be &#39;small&#39;, &#39;medium&#39; or &#39;large&#39;" in huge.text
    )


async def test_controls_say_why_they_were_refused_in_the_page(dashboard: Dashboard) -> None:
    run = await make_run(dashboard.store)
    await move(dashboard.store, run, RunState.SPEC_WRITING, RunState.CANCELLED)
    client = dashboard.client
    ended = await client.post(f"/ideas/{run.id}/pause")
    assert ended.status_code == 409 and f"run {run.id} is CANCELLED; it cannot pause" in ended.text
    assert chips_of(ended.text)[0] == ("Spec", "cancelled")
    unknown = await client.post(f"/ideas/{run.id}/explode")
    assert (
        unknown.status_code == 404
        and "no action &#39;explode&#39;; actions: pause, resume, cancel, advance" in unknown.text
    )
    elsewhere = await client.post(f"/ideas/{run.id}/cancel", headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403 and "another site" in elsewhere.text
    also = await client.post(
        "/ideas", data={"idea_text": "x", "repo": "/r"}, headers={"Origin": "https://evil.example"}
    )
    assert also.status_code == 403
