"""A run page's newer parts as a browser without JavaScript gets them (and htmx, where it asks):
the timeline as steps, the tree's nodes with their forge links and retry, the chat beside the run,
the intake's dry run and agents, and the code tab with its merge button."""

from __future__ import annotations

import re

from dashboard_kit import Dashboard
from test_idea_pages import XSS, make_run, move, plant

from shipyard.domain.ideas import IssueStatus, RunState
from shipyard.domain.work_orders import WorkOrderCreate
from shipyard.forge.registry import forge_for
from support import MakeRepo, git

HTMX = {"HX-Request": "true"}
NO_ENGINE = "this process has no engine; start `shipyard serve` to steer runs"
BETWEEN = "it is between work orders"


def steps_of(html: str) -> list[tuple[str, str, str]]:
    """(tone, event type, icon) of each timeline entry."""
    step = r'class="step step-(\w+) lvl-\w+" id="event-\d+" data-type="([\w.]+)">\s*'
    found = re.findall(step + r'<span class="icon" aria-hidden="true">(.)<', html)
    return [(tone, kind, icon) for tone, kind, icon in found]


async def test_the_timeline_draws_each_entry_with_its_icon_what_it_ended_and_its_links(
    dashboard: Dashboard,
) -> None:
    store = dashboard.store
    run = await make_run(store)
    await move(store, run, RunState.SPEC_WRITING)
    epic, *_ = await plant(store, run)
    work = {"issue_id": epic.id, "work": "spec", "work_order_id": "wo-aaaa1111", "branch": "epic/1-greet"}
    add = store.add_run_event
    await add(run.id, "workflow.step.started", phase="SPEC_WRITING", msg="spec of epic", data=work)
    await add(run.id, "run.interrupt", phase="SPEC_WRITING", msg="pause: lunch", data={"action": "pause"})
    await add(
        run.id,
        "chat.message",
        phase="SPEC_WRITING",
        msg="person: hi",
        data={"author": "person", "text": "hi"},
    )
    await add(
        run.id, "workflow.step.completed", phase="SPEC_WRITING", msg="spec of epic completed", data=work
    )
    await add(run.id, "run.interrupt", phase="SPEC_WRITING", msg="resume", data={"action": "resume"})
    await move(store, run, RunState.ISSUE_TREE)
    await add(
        run.id, "merge.conflict", phase="ISSUE_TREE", msg=f"does not merge {XSS}", level="warning",
        data={"issue_id": epic.id},
    )  # fmt: skip
    html = (await dashboard.client.get(f"/ideas/{run.id}")).text
    assert steps_of(html) == [
        ("running", "run.state", "◆"), ("running", "run.state", "◆"),
        ("running", "workflow.step.started", "▶"), ("waiting", "run.interrupt", "‖"),
        ("completed", "workflow.step.completed", "✓"), ("running", "run.interrupt", "▶"),
        ("running", "run.state", "◆"), ("waiting", "merge.conflict", "⚠"),
    ]  # fmt: skip
    timeline = html[html.index('id="timeline"') :]
    assert re.search(r'class="took">spec took \d+\.\d s<', timeline)  # the work order's end
    assert re.search(r'class="took">held \d+\.\d s<', timeline)  # the resume: how long it was held
    assert re.search(r'class="took">SPEC_WRITING took \d+\.\d s<', timeline)  # the next state
    assert 'hx-get="/work-orders/wo-aaaa1111/log" hx-trigger="toggle once"' in timeline  # its log, on opening
    assert '<a href="/work-orders/wo-aaaa1111">wo-aaaa1111</a>' in timeline and "epic/1-greet" in timeline
    assert f'<a href="#issue-{epic.id}">#{epic.id}</a>' in timeline
    assert "person: hi" not in timeline  # the chat is beside the timeline, not in it
    assert XSS not in html and "does not merge &lt;script&gt;" in timeline


async def test_the_tree_opens_down_to_the_current_issue_and_links_forge_issues_qa_and_a_retry(
    dashboard: Dashboard,
) -> None:
    store = dashboard.store
    run = await make_run(store)
    await store.update_run(run.id, state=RunState.EXECUTION_LOOP)
    epic, hello, module, script, goodbye, bye = await plant(store, run)
    await store.update_issue(module.id, forge_issue_number=12)
    await store.add_run_event(
        run.id, "qa.passed", phase="QA", msg=f"QA round 1 of task #{module.id} found no defect",
        data={"issue_id": module.id},
    )  # fmt: skip
    html = (await dashboard.client.get(f"/ideas/{run.id}")).text
    opened = dict(re.findall(r'<details class="issue-box" id="node-(\d+)"( open)?>', html))
    assert {int(id): bool(is_open) for id, is_open in opened.items()} == {
        epic.id: True,
        hello.id: True,
        module.id: False,
        script.id: False,
        goodbye.id: False,
        bye.id: False,
    }  # fmt: skip  the way down to the script task, which runs now
    assert "/issues/12" not in html  # the local forge keeps no issues
    assert re.search(rf'id="issue-{module.id}".*?badge-completed">QA passed<', html, re.S)

    run = await store.update_run(run.id, forge="github", repository_url="https://github.com/acme/greet")
    await store.update_issue(bye.id, status=IssueStatus.BLOCKED)
    await move(store, run, RunState.FAILED, error="implement of task failed")
    html = (await dashboard.client.get(f"/ideas/{run.id}")).text
    assert '<a href="https://github.com/acme/greet/issues/12">Issue #12 on github</a>' in html
    retry = f'action="/ideas/{run.id}/retry/{bye.id}"'
    assert html.count(retry) == 2  # in the head and in the blocked node
    assert f"/retry/{module.id}" not in html
    refused = await dashboard.client.post(f"/ideas/{run.id}/retry/{bye.id}")
    assert refused.status_code == 409 and "this process has no engine" in refused.text
    assert (await dashboard.client.post(f"/ideas/{run.id}/retry/0")).status_code == 422


async def test_the_chat_answers_in_the_page_with_and_without_javascript(dashboard: Dashboard) -> None:
    client, store = dashboard.client, dashboard.store
    run = await make_run(store)
    await move(store, run, RunState.SPEC_WRITING, RunState.ISSUE_TREE, RunState.EXECUTION_LOOP)
    page = (await client.get(f"/ideas/{run.id}")).text
    assert "No messages yet" in page and f'action="/ideas/{run.id}/chat"' in page
    seen = re.search(r'hx-get="/ideas/run-\w+/chat\?seen=(\w+)"\s+hx-trigger="every 2s"', page)
    assert seen is not None  # the messages refresh while the run goes on

    sent = await client.post(f"/ideas/{run.id}/chat", data={"text": "/status"})
    assert sent.status_code == 303 and sent.headers["location"] == f"/ideas/{run.id}#chat"
    for text in ("/pause", f"hello {XSS}"):
        assert (await client.post(f"/ideas/{run.id}/chat", data={"text": text})).status_code == 303
    page = (await client.get(f"/ideas/{run.id}")).text
    said = re.findall(
        r'class="msg msg-(\w+)[^"]*">\s*<span class="msg-who">(\w+)</span>.*?class="msg-text wrap">(.*?)</p>',
        page,
        re.S,
    )
    assert said == [
        ("person", "Person", "/status"), ("system", "Shipyard", "The run is EXECUTION_LOOP."),
        ("person", "Person", "/pause"),
        ("system", "Shipyard", f"/pause refused: {NO_ENGINE}"),
        ("person", "Person", "hello &lt;script&gt;alert(1)&lt;/script&gt;"),
        ("system", "Shipyard", f"No agent is running now ({BETWEEN}): nothing got the message."),
    ]  # fmt: skip
    assert 'class="msg msg-system msg-warning"' in page and XSS not in page
    assert (await client.get(f"/ideas/{run.id}/chat", params={"seen": seen.group(1)})).status_code == 200
    now = re.search(r"chat\?seen=(\w+)", page).group(1)  # type: ignore[union-attr]
    assert (await client.get(f"/ideas/{run.id}/chat", params={"seen": now})).status_code == 204

    bad = await client.post(f"/ideas/{run.id}/chat", data={"text": "/explode now"})
    assert (
        bad.status_code == 422
        and 'role="alert">unknown command /explode; commands: /pause [reason]' in bad.text
    )
    assert 'value="/explode now"' in bad.text  # what was typed is kept
    answer = await client.post(f"/ideas/{run.id}/chat", data={"text": "/help"}, headers=HTMX)
    assert answer.status_code == 200 and answer.text.lstrip().startswith('<aside id="chat"')
    assert answer.headers["hx-trigger"] == "run-changed" and "autofocus" in answer.text
    assert "Commands: /pause [reason]: hold the run" in answer.text and 'value=""' in answer.text
    refused = await client.post(f"/ideas/{run.id}/chat", data={"text": "/retry x"}, headers=HTMX)
    assert refused.status_code == 200 and 'role="alert">/retry needs the issue' in refused.text
    assert 'value="/retry x"' in refused.text
    for text, says in [
        ("x" * 20_001, "message: String should have at most 20000 characters"),
        ("a\x00b", "NUL"),
    ]:
        long = await client.post(f"/ideas/{run.id}/chat", data={"text": text})
        assert long.status_code == 422 and says in long.text
    assert (await client.post("/ideas/run-00000000/chat", data={"text": "/status"})).status_code == 404
    elsewhere = await client.post(
        f"/ideas/{run.id}/chat", data={"text": "/cancel"}, headers={"Origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 403
    await move(store, run, RunState.CANCELLED)
    ended = (await client.get(f"/ideas/{run.id}")).text
    assert "chat?seen=" not in ended  # nothing more to wait for


async def test_the_intake_form_sends_dry_run_and_each_roles_agent_and_keeps_them_when_refused(
    dashboard: Dashboard, make_repo: MakeRepo
) -> None:
    client = dashboard.client
    form = (await client.get("/ideas")).text
    assert 'type="checkbox" name="dry_run"' in form
    for role in ("default", "spec", "implement", "qa", "release"):
        assert f'<select name="agent_{role}">' in form
    assert '<option value="shell">shell</option>' in form

    repo = make_repo()
    fields = {"idea_text": "Greeting helpers", "repo": str(repo), "dry_run": "on", "agent_spec": "shell"}
    refused = await client.post("/ideas", data=fields)
    assert refused.status_code == 409 and "this process has no engine" in refused.text
    assert 'name="dry_run" value="on" checked' in refused.text
    chosen = re.search(r'<select name="agent_spec">.*?</select>', refused.text, re.S)
    assert chosen is not None and '<option value="shell" selected>' in chosen.group(0)
    assert '<option value="shell" selected>' not in refused.text.replace(chosen.group(0), "")
    unknown = await client.post("/ideas", data={**fields, "agent_qa": "nope"})
    assert unknown.status_code == 422 and "options.agents.qa: unknown agent &#39;nope&#39;" in unknown.text
    api = await client.post(
        "/api/ideas", json={"ideaText": "x", "repo": str(repo), "options": {"agents": {"builder": "shell"}}}
    )
    assert api.status_code == 422 and "agents.builder" in api.text


async def test_the_code_tab_lists_branches_and_pull_requests_and_merges_one(
    dashboard: Dashboard, make_repo: MakeRepo
) -> None:
    client, store = dashboard.client, dashboard.store
    repo = make_repo("greet")
    git(repo, "branch", "integration")
    git(repo, "checkout", "-q", "-b", "task/2-hello")
    (repo / "hello.py").write_text("X = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hello")
    git(repo, "checkout", "-q", "main")
    run = await make_run(store)
    run = await store.update_run(run.id, repository_url=str(repo), state=RunState.EXECUTION_LOOP)
    _, hello, *_ = await plant(store, run)
    await store.update_issue(hello.id, branch="task/2-hello")
    forge = forge_for("local", dashboard.settings, str(repo), store)
    pull = await forge.open_pr("task/2-hello", "integration", f"Hello {XSS}", "")

    html = (await client.get(f"/ideas/{run.id}/code")).text
    assert '<a href="/ideas/' in html and 'aria-current="page">Code</a>' in html
    row = re.search(rf'<tr id="pull-{pull.number}">.*?</tr>', html, re.S)
    assert row is not None
    cells = re.sub(r"<[^>]+>", " ", row.group(0))
    assert " ".join(cells.split()) == (
        f"#{pull.number} Hello &lt;script&gt;alert(1)&lt;/script&gt; task/2-hello → integration open"
        " no checks Merge into integration"
    )
    branches = re.findall(r'<li><span class="mono small wrap">([\w/.-]+)</span>', html)
    assert branches == ["task/2-hello", "integration", "main"]  # the run's own first
    assert re.search(
        r"task/2-hello</span> <span class=\"mono muted small\">\w{10}</span> <span class=\"chip\">this run's",
        html,
    )

    merged = await client.post(f"/ideas/{run.id}/code/merge/{pull.number}")
    assert (
        merged.status_code == 303
        and merged.headers["location"] == f"/ideas/{run.id}/code?merged={pull.number}"
    )
    after = (await client.get(merged.headers["location"])).text
    assert f"Merged pull request #{pull.number}." in after and 'badge-completed">merged<' in after
    assert "hello.py" in git(repo, "ls-tree", "--name-only", "integration")
    again = await client.post(f"/ideas/{run.id}/code/merge/{pull.number}")
    assert (
        again.status_code == 409 and f"pull request #{pull.number} is merged: nothing to merge" in again.text
    )
    assert (await client.post(f"/ideas/{run.id}/code/merge/999")).status_code == 404


async def test_a_node_opens_to_its_comments_and_an_entry_to_its_work_orders_artifacts(
    dashboard: Dashboard,
) -> None:
    store = dashboard.store
    run, other = await make_run(store), await make_run(store)
    epic, *_ = await plant(store, run)
    await store.update_issue(epic.id, pr_number=3)
    made = WorkOrderCreate(
        id="wo-bbbb2222", repository_url="/src/greet", workflow_type="idea_task", sandbox_type="git_worktree",
        agent="replay", trigger={"source": "idea", "run": run.id, "issue": epic.id, "work": "implement"},
    )  # fmt: skip
    await store.create_work_order(made)
    await store.save_artifact("wo-bbbb2222", f"report{XSS}.json", "application/json", b'{"passed": 3}')

    talk = await dashboard.client.get(f"/ideas/{run.id}/issues/{epic.id}/conversation")
    assert talk.status_code == 200 and "The local forge keeps no comments." in talk.text
    assert (await dashboard.client.get(f"/ideas/{other.id}/issues/{epic.id}/conversation")).status_code == 404
    listed = await dashboard.client.get(f"/ideas/{run.id}/work/wo-bbbb2222/artifacts")
    assert listed.status_code == 200 and "application/json, 13 bytes" in listed.text
    assert XSS not in listed.text  # escaped
    assert (await dashboard.client.get(f"/ideas/{other.id}/work/wo-bbbb2222/artifacts")).status_code == 404
    [href] = re.findall(r'href="(/ideas/[^"]+/artifacts/[^"]+)"', listed.text)
    got = await dashboard.client.get(href.replace("&amp;", "&"))
    assert got.status_code == 200 and got.content == b'{"passed": 3}'
    assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert got.headers["content-type"].startswith("text/plain")  # never the uploader's claimed type
    page = (await dashboard.client.get(f"/ideas/{run.id}")).text
    assert f'hx-get="/ideas/{run.id}/issues/{epic.id}/conversation"' in page
