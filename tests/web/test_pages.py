"""Dashboard pages as a browser without JavaScript gets them: everything readable in the HTML,
filters and paging by query string, errors as pages."""

from __future__ import annotations

import re
from datetime import timedelta

from dashboard_kit import Dashboard, Seed, add_log_lines, branch_with_change

from shipyard.store.tables import utc_now
from support import MakeRepo


def ids_in(html: str) -> list[str]:
    return re.findall(r'href="/work-orders/(wo-[0-9a-z]{8})"', html)


async def test_the_list_shows_work_orders_newest_first_with_their_facts(
    dashboard: Dashboard, seed: Seed
) -> None:
    older = await seed(status="failed", error_message="step 'build' failed: exit code 2")
    now = utc_now()
    newer = await seed(
        repository_url="https://github.com/acme/widgets", status="completed",
        github_pull_request_url="https://github.com/acme/widgets/pull/17",
        execution_started_at=now - timedelta(seconds=135), execution_completed_at=now,
    )  # fmt: skip
    resp = await dashboard.client.get("/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert ids_in(html) == [newer.id, older.id]
    assert "acme/widgets" in html and 'href="https://github.com/acme/widgets/pull/17">#17<' in html
    assert "2:15" in html  # the duration
    assert "badge-failed" in html and "badge-completed" in html
    assert f"wo/{newer.id}-demo" in html
    assert 'sse-connect="/live"' in html  # rows refresh when work orders move on


async def test_filters_search_and_pages(dashboard: Dashboard, seed: Seed) -> None:
    failed = await seed(
        repository_url="/src/alpha", status="failed", error_message="budget_exceeded: max_turns"
    )
    alpha = [await seed(repository_url="/src/alpha") for _ in range(26)]
    beta = await seed(repository_url="/src/beta", workflow="agent_workflow_test")
    client = dashboard.client
    assert ids_in((await client.get("/", params={"status": "failed"})).text) == [failed.id]
    assert ids_in((await client.get("/", params={"repository": "/src/beta"})).text) == [beta.id]
    assert ids_in((await client.get("/", params={"q": "budget_EXCEEDED"})).text) == [failed.id]
    assert ids_in((await client.get("/", params={"q": "agent_workflow_test"})).text) == [beta.id]
    assert ids_in((await client.get("/", params={"q": "100%"})).text) == []  # % is a character here
    first = (await client.get("/", params={"repository": "/src/alpha"})).text
    second = (await client.get("/", params={"repository": "/src/alpha", "page": 2})).text
    assert len(ids_in(first)) == 25 and "27 work orders" in first and "page 1 of 2" in first
    assert ids_in(second) == [alpha[0].id, failed.id]
    assert 'href="/?repository=%2Fsrc%2Falpha&amp;page=2"' in first and 'rel="prev"' in second
    api = (
        await client.get("/api/agent-work-orders", params={"q": "budget", "repository": "/src/alpha"})
    ).json()
    assert [wo["agent_work_order_id"] for wo in api["agent_work_orders"]] == [
        failed.id
    ]  # the API filters alike
    rows = await client.get("/", params={"status": "failed", "part": "rows"})
    assert ids_in(rows.text) == [failed.id] and "<html" not in rows.text  # the fragment htmx swaps in


async def test_an_empty_list_says_how_to_start(dashboard: Dashboard) -> None:
    html = (await dashboard.client.get("/")).text
    assert "No work orders yet" in html and 'href="/work-orders/new"' in html
    assert "No work order matches" in (await dashboard.client.get("/", params={"q": "zzz"})).text


async def test_the_detail_page_shows_steps_progress_log_and_diff(
    dashboard: Dashboard, seed: Seed, make_repo: MakeRepo
) -> None:
    _, handle = branch_with_change(make_repo)
    steps = [
        {"step_id": "build", "status": "completed", "phase": "implementing", "output": "built <fine>"},
        {"step_id": "test", "status": "failed", "phase": "testing", "error": "exit code 1: 2 failed"},
    ]
    wo = await seed(
        status="failed", steps=steps, sandbox=handle, error_message="step 'test' failed: exit code 1"
    )
    for n in range(3):
        await dashboard.store.append_event(
            wo.id, "log", {"stream": "stdout", "line": f"line {n} <b>"}, step_id="test"
        )
    html = (await dashboard.client.get(f"/work-orders/{wo.id}")).text
    assert f'<h1 class="mono">{wo.id}</h1>' in html
    assert "step &#39;test&#39; failed: exit code 1" in html  # the cause, escaped
    assert re.search(r'class="step step-completed">.*?build.*?implementing', html, re.S)
    assert re.search(r'class="step step-failed">.*?test.*?exit code 1: 2 failed', html, re.S)
    assert "built &lt;fine&gt;" in html  # step output, expandable
    assert html.count('class="line lvl-info') == 3 and "line 2 &lt;b&gt;" in html
    assert "build: say hello properly" in html and "implementing" in html  # a commit and its phase
    assert "<strong>1</strong> commit" in html
    assert re.search(r'file-modified">modified</span>\s*<span class="mono wrap">app.py', html)
    assert re.search(r'file-added">added</span>\s*<span class="mono wrap">notes.md', html)
    assert '<span class="tok-k">def</span>' in html  # coloured by language
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "Retry from the failed step" in html and "sse-connect" not in html  # finished: not live


async def test_a_running_work_order_streams_and_offers_its_controls(dashboard: Dashboard, seed: Seed) -> None:
    planned = [{"id": "gate", "gate": {"message": "Read the plan."}}, {"id": "ship", "run": "make"}]
    definition = {"name": "d", "steps": planned}
    steps = [{"step_id": "gate", "status": "waiting"}, {"step_id": "prompt-1", "status": "completed"}]
    wo = await seed(status="running", steps=steps, definition=definition)
    last = await dashboard.store.append_event(wo.id, "workflow.started", {})
    html = (await dashboard.client.get(f"/work-orders/{wo.id}")).text
    timeline = re.findall(r'class="step step-(\w+)">.*?step-name mono">([\w-]+)<', html, re.S)
    assert timeline == [("waiting", "gate"), ("pending", "ship"), ("completed", "prompt-1")]
    assert "Read the plan." in html
    assert f'sse-connect="/work-orders/{wo.id}/live?after={last.id}"' in html
    assert 'sse-swap="log"' in html
    for action in ("pause", "cancel", "prompt", "approve"):
        assert f'action="/work-orders/{wo.id}/{action}"' in html
    assert "Yes, cancel it" in html and "Waiting at gate" in html
    assert "Retry" not in html


async def test_five_thousand_log_lines_are_drawn_two_hundred_at_a_time(
    dashboard: Dashboard, seed: Seed
) -> None:
    wo = await seed(status="completed")
    await add_log_lines(dashboard.store, wo.id, [f"line-{n}" for n in range(5000)])
    first = (await dashboard.store.list_events(wo.id, limit=1))[0][0]
    html = (await dashboard.client.get(f"/work-orders/{wo.id}")).text
    assert html.count('class="line ') == 200
    assert "line-4999<" in html and "line-4800<" in html and "line-4799<" not in html
    assert "Show earlier lines (4800 more)" in html
    before = re.search(r'href="/work-orders/[^"]+/log\?before=(\d+)"', html)
    assert before is not None
    fragment = await dashboard.client.get(
        f"/work-orders/{wo.id}/log?before={before.group(1)}", headers={"HX-Request": "true"}
    )
    assert fragment.text.count('class="line ') == 200 and "<html" not in fragment.text
    assert "line-4799<" in fragment.text and "line-4600<" in fragment.text and "(4600 more)" in fragment.text
    page = await dashboard.client.get(f"/work-orders/{wo.id}/log?before={before.group(1)}")
    assert "<html" in page.text and "line-4799<" in page.text  # without JavaScript: a page of its own
    oldest = await dashboard.client.get(
        f"/work-orders/{wo.id}/log?before={first.id + 10}", headers={"HX-Request": "true"}
    )  # type: ignore[union-attr]
    assert oldest.text.count('class="line ') == 10 and "earlier" not in oldest.text


async def test_errors_are_pages_with_the_reason(dashboard: Dashboard) -> None:
    client = dashboard.client
    missing = await client.get("/work-orders/wo-00000000")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert (
        "work order &#39;wo-00000000&#39; not found" in missing.text
        and "Back to the work orders" in missing.text
    )
    bad = await client.get("/", params={"status": "sideways"})
    assert bad.status_code == 422 and "unknown status &#39;sideways&#39;" in bad.text
    assert (await client.get("/", params={"page": 0})).status_code == 422
    nul = await client.get("/", params={"q": "a\x00b"})
    assert nul.status_code == 422 and "q contains a NUL character" in nul.text
    assert (await client.get("/no/such/page")).status_code == 404
    api = await client.get("/api/agent-work-orders/wo-00000000")  # the API keeps its JSON errors
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


async def test_starting_without_an_engine_shows_the_form_again_with_the_reason(
    dashboard: Dashboard, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    form = {
        "repository_url": str(repo),
        "workflow_type": "agent_workflow_build",
        "agent": "shell",
        "prompt": "hi",
    }
    resp = await dashboard.client.post("/work-orders", data=form)
    assert resp.status_code == 409 and "this process has no engine" in resp.text
    assert f'value="{repo}"' in resp.text and ">hi</textarea>" in resp.text  # nothing typed is lost


async def test_a_form_from_another_site_is_refused(dashboard: Dashboard, seed: Seed) -> None:
    wo = await seed(status="running")
    resp = await dashboard.client.post(
        f"/work-orders/{wo.id}/cancel", headers={"Origin": "https://evil.example"}
    )
    assert resp.status_code == 403 and "another site" in resp.text
    assert (await dashboard.store.get_work_order(wo.id)).status.value == "running"


async def test_controls_on_a_finished_work_order_say_why_in_the_page(
    dashboard: Dashboard, seed: Seed
) -> None:
    wo = await seed(status="completed")
    resp = await dashboard.client.post(f"/work-orders/{wo.id}/pause")
    assert resp.status_code == 409 and 'role="alert"' in resp.text and wo.id in resp.text
    unknown = await dashboard.client.post(f"/work-orders/{wo.id}/explode")
    assert unknown.status_code == 404 and "no action &#39;explode&#39;" in unknown.text
    empty = await dashboard.client.post(f"/work-orders/{wo.id}/prompt", data={"prompt_text": "  "})
    assert empty.status_code == 422 and "Write a prompt first" in empty.text


async def test_the_new_form_verifies_a_local_repository_with_and_without_javascript(
    dashboard: Dashboard, make_repo: MakeRepo, tmp_path
) -> None:
    repo = make_repo("widgets", {"README.md": "# w\n", ".shipyard/workflows/hello.yaml": HELLO})
    client = dashboard.client
    form = (await client.get("/work-orders/new")).text
    for sandbox in ("git_worktree", "git_branch"):
        assert f'value="{sandbox}"' in form
    assert re.search(r'value="e2b" disabled', form) and "set SHIPYARD_E2B_API_KEY or E2B_API_KEY" in form
    assert re.search(r'value="codex" disabled', form)  # not installed here
    assert 'value="agent_workflow_plan_build_test"' in form and "hello" not in form
    fragment = await client.get(
        "/work-orders/verify", params={"repository_url": str(repo)}, headers={"HX-Request": "true"}
    )
    assert (
        "✓ local/widgets" in fragment.text
        and 'default branch <span class="mono">main</span>' in fragment.text
    )
    assert 'hx-swap-oob="innerHTML"' in fragment.text and 'value="hello"' in fragment.text
    assert ".shipyard/workflows/hello.yaml" in fragment.text
    page = await client.get(
        "/work-orders/new", params={"repository_url": str(repo), "verify": "1", "prompt": "keep me"}
    )
    assert (
        "✓ local/widgets" in page.text and 'value="hello"' in page.text and ">keep me</textarea>" in page.text
    )
    plain = tmp_path / "plain"
    plain.mkdir()
    refused = await client.get("/work-orders/verify", params={"repository_url": str(plain)})
    assert "verified bad" in refused.text and "not a git repository" in refused.text
    blank = await client.get("/work-orders/verify", params={"repository_url": " "})
    assert "Enter a repository" in blank.text
    long = "/tmp/" + "x" * 300  # a name no file system holds: the pages raised ENAMETOOLONG
    for path in ("/work-orders/verify", "/work-orders/new"):
        answer = await client.get(path, params={"repository_url": long, "verify": "1"})
        assert answer.status_code == 200 and "neither a local directory" in answer.text, (
            path,
            answer.text[-500:],
        )


HELLO = """name: hello
description: Say hello.
steps:
  - {id: greet, prompt: "echo hello > HELLO.md", commit: "say hello"}
"""


async def test_workflows_agents_and_metrics_pages(dashboard: Dashboard, seed: Seed) -> None:
    client = dashboard.client
    library = (await client.get("/workflows")).text
    assert 'href="/workflows/agent_workflow_plan_build_test"' in library
    one = (await client.get("/workflows/agent_workflow_plan_build_test")).text
    assert "Plan a change into specs/plan.md" in one and "inputs.prompt" in one  # the YAML as written
    assert (await client.get("/workflows/nope")).status_code == 404
    agents = (await client.get("/agents")).text
    assert "shell" in agents and "claude" in agents and "not installed" in agents  # codex is not
    assert "ready" in agents
    now = utc_now()
    for seconds, status, error in [
        (60, "completed", None),
        (120, "completed", None),
        (5, "failed", "x timed out after 5 s"),
    ]:
        await seed(
            status=status,
            execution_started_at=now - timedelta(seconds=seconds),
            execution_completed_at=now,
            error_message=error,
        )
    metrics = (await client.get("/metrics")).text
    assert "67 %" in metrics and "1:30" in metrics  # 2 of 3 succeeded; median of 60 s and 120 s
    assert "timeout" in metrics and "agent_workflow_build" in metrics
    api = (await client.get("/api/metrics")).json()
    assert api["overall"]["completed"] == 2 and api["overall"]["failure_causes"] == {"timeout": 1}


async def test_the_webhooks_page_shows_deliveries_and_what_each_did(dashboard: Dashboard, seed: Seed) -> None:
    store, client = dashboard.store, dashboard.client
    empty = (await client.get("/webhooks")).text
    assert "No deliveries yet" in empty and 'href="/webhooks" aria-current="page"' in empty
    wo = await seed()
    started, _ = await store.record_delivery("github", "1", "d-push", "push", None, {})
    await store.finish_delivery(started.id, "processed", {"work_orders": [wo.id], "errors": []})
    quiet, _ = await store.record_delivery("github", "1", "d-star", "star", "created", {})
    await store.finish_delivery(quiet.id, "ignored", {"reason": "no project watches acme/widgets"})
    broken, _ = await store.record_delivery("github", "1", "d-cut", "issues", "labeled", {})
    for _ in range(2):  # claimed, cut short (its lease ran out at once), claimed again
        assert await store.claim_next_delivery(0, 5) is not None
    await store.finish_delivery(broken.id, "failed", {"error": "GitHub answered 502"})
    waiting, _ = await store.record_delivery("github", "1", "d-new", "push", None, {})

    html = (await client.get("/webhooks")).text
    shown = re.findall(r'id="delivery-(\d+)"', html)
    assert shown == [str(d.id) for d in (waiting, broken, quiet, started)]  # newest first
    assert f'href="/work-orders/{wo.id}"' in html and "no project watches acme/widgets" in html
    assert "GitHub answered 502" in html and "taken up 2 times" in html and "issues · labeled" in html
    failed = (await client.get("/webhooks", params={"status": "failed"})).text
    assert re.findall(r'id="delivery-(\d+)"', failed) == [str(broken.id)]
    assert (await client.get("/webhooks", params={"status": "bogus"})).status_code == 422
