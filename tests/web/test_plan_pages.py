"""Seed 004's pages as a browser without JavaScript gets them (and htmx, where it polls): the
clusters list, a cluster with its feedback, plan, versions, runners and jobs, the plan edited in
place and refused with the reason, a job's page with its log, pull request and cancel button."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from dashboard_kit import Dashboard, Seed, add_log_lines

from shipyard.cli.server import running_server
from shipyard.config import RunnerConfig
from shipyard.domain.plans import ClusterStatus, CodingPlan, JobStatus, new_job_id
from shipyard.plans import pages as plan_pages
from shipyard.store.records import JobRecord
from support import MakeRepo, MakeSettings, nap

XSS = "<script>alert(1)</script>"
PLAN = {
    "summary": "The greeting is rude.\n\nMake it say hello.",
    "hypotheses": ["greet.py says 'go away'"],
    "candidate_files": ["greet.py"],
    "validation_steps": ["grep -q hello greet.py"],
}
NO_ENGINE = "this process has no engine"
ENDED = {"succeeded", "failed", "cancelled"}


async def make_cluster(dashboard: Dashboard, title: str = "Rude greeting", **extra: Any) -> str:
    items = [
        {"source": "github", "text": "It told me to go away", "url": "https://github.com/acme/w/issues/7"},
        {"source": "email", "text": f"Rude {XSS}", "url": "javascript:alert(1)"},
    ]
    body = {"title": title, "repo": "https://github.com/acme/widgets", "items": items, **extra}
    made = await dashboard.client.post("/api/clusters", json=body)
    assert made.status_code == 201, made.text
    cluster_id: str = made.json()["id"]
    return cluster_id


async def put_plan(dashboard: Dashboard, cluster_id: str, **changes: Any) -> None:
    answer = await dashboard.client.put(f"/api/clusters/{cluster_id}/plan", json={**PLAN, **changes})
    assert answer.status_code == 200, answer.text


async def make_job(
    dashboard: Dashboard, cluster_id: str, status: JobStatus = JobStatus.RUNNING, **fields: Any
) -> JobRecord:
    store = dashboard.store
    job = await store.create_job(new_job_id(), cluster_id, "sandbox_kilo", status)
    return await store.update_job(job.id, **fields) if fields else job


def versions_of(html: str) -> list[str]:
    return re.findall(r'<td data-label="Version"><a href="[^"]+">version (\d+)</a>', html)


async def test_the_clusters_list_shows_each_cluster_newest_first_filtered_by_status_and_paged(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dashboard.client
    empty = (await client.get("/clusters")).text
    assert "No clusters yet" in empty and 'aria-current="page">Clusters<' in empty
    assert 'Active runner: <strong class="mono">sandbox_kilo</strong>' in empty
    assert "kilocode in a git_worktree sandbox" in empty

    older = await make_cluster(dashboard, "Crash on start")
    newer = await make_cluster(dashboard, f"Rude {XSS}")
    await put_plan(dashboard, newer)
    await make_job(
        dashboard, newer, JobStatus.SUCCEEDED, pr_url="https://github.com/acme/widgets/pull/3", plan_version=1
    )
    html = (await client.get("/clusters")).text
    rows = re.findall(r'<tr id="(cl-\w+)">', html)
    assert rows == [newer, older]
    row = html[html.index(f'<tr id="{newer}">') :]
    row = row[: row.index("</tr>")]
    assert 'badge-waiting">plan_ready<' in row and "Rude &lt;script&gt;" in row and XSS not in html
    assert '<td data-label="Items">2</td>' in row and "version 1" in row and ">acme/widgets<" in row
    assert re.search(r'href="/jobs/job-\w+">job-\w+</a>\s*<span class="badge badge-completed">succeeded', row)
    assert (
        '<a href="https://github.com/acme/widgets/pull/3" rel="noopener noreferrer">pull request</a>' in row
    )

    ready = (await client.get("/clusters", params={"status": "plan_ready"})).text
    assert re.findall(r'<tr id="(cl-\w+)">', ready) == [newer]
    assert '<option value="plan_ready" selected>' in ready
    assert "No cluster is failed" in (await client.get("/clusters", params={"status": "failed"})).text
    bad = await client.get("/clusters", params={"status": "lost"})
    assert bad.status_code == 422 and "unknown status &#39;lost&#39;; one of: new, planning" in bad.text

    monkeypatch.setattr(plan_pages, "PAGE_SIZE", 1)
    first = (await client.get("/clusters")).text
    assert "2 clusters · page 1 of 2" in first and 'href="/clusters?page=2" rel="next"' in first
    second = (await client.get("/clusters", params={"page": 2})).text
    assert (
        re.findall(r'<tr id="(cl-\w+)">', second) == [older]
        and 'href="/clusters?page=1" rel="prev"' in second
    )


async def test_a_cluster_shows_its_feedback_plan_versions_runners_and_jobs(dashboard: Dashboard) -> None:
    client = dashboard.client
    cluster_id = await make_cluster(dashboard)
    bare = (await client.get(f"/clusters/{cluster_id}")).text
    assert "No plan yet: generate one below, or write it." in bare and "Write the plan" in bare
    assert '<input type="hidden" name="generate_plan" value="on">' in bare
    assert ">Generate plan and start fix</button>" in bare and ">Generate plan</button>" in bare

    await put_plan(dashboard, cluster_id, summary="The first take.")
    await put_plan(dashboard, cluster_id)
    job = await make_job(dashboard, cluster_id, JobStatus.FAILED, plan_version=2, error="validation failed")
    html = (await client.get(f"/clusters/{cluster_id}")).text
    assert '<a href="https://github.com/acme/w/issues/7" rel="noopener noreferrer" class="small">' in html
    assert "Rude &lt;script&gt;" in html and XSS not in html
    assert 'href="javascript:' not in html and '<span class="small muted">javascript:alert(1)</span>' in html
    plan = html[html.index('id="plan"') : html.index('id="versions"')]
    assert "Plan, version 2" in plan and "The greeting is rude.\n\nMake it say hello." in plan
    assert "<li>greet.py says &#39;go away&#39;</li>" in plan and "<li><code>greet.py</code></li>" in plan
    assert '<pre class="output"><code>grep -q hello greet.py</code></pre>' in plan
    assert (
        '<textarea id="plan-summary" name="summary" rows="5" required maxlength="20000">The greeting is rude.'
        in plan
    )
    assert versions_of(html) == ["2", "1"]
    assert (
        ">Start fix</button>" in html and ">Regenerate plan</button>" in html and "generate_plan" not in html
    )
    assert '<input type="radio" name="runner" value="sandbox_kilo" checked>' in html
    assert '<span class="badge badge-running">default</span>' in html
    assert re.search(rf'href="/jobs/{job.id}">{job.id}</a>.*?version 2', html, re.S)
    assert "hx-get" not in html  # nothing works on the cluster: nothing to wait for

    older = (await client.get(f"/clusters/{cluster_id}", params={"version": 1})).text
    assert "Plan, version 1" in older and "The first take." in older and "the latest is version 2" in older
    assert "The form holds version 1: saving it makes it the latest again." in older
    assert (await client.get(f"/clusters/{cluster_id}", params={"version": 9})).status_code == 404

    await dashboard.store.update_cluster(cluster_id, status=ClusterStatus.PLANNING)
    planning = (await client.get(f"/clusters/{cluster_id}", params={"version": 1})).text
    seen = re.search(
        rf'hx-get="/clusters/{cluster_id}/live\?seen=(\w+)&amp;version=1"\s+hx-trigger="every 2s"', planning
    )
    assert seen is not None and "The plan can be edited once it is made." in planning
    assert ">Regenerate plan</button>" in planning and " disabled>Start fix</button>" in planning
    live = f"/clusters/{cluster_id}/live"
    assert (await client.get(live, params={"seen": seen.group(1), "version": 1})).status_code == 204
    made = CodingPlan.model_validate({**PLAN, "summary": "Made by the agent."})
    await dashboard.store.add_plan(cluster_id, made, "generated", agent="replay")  # as the plan's end does
    await dashboard.store.update_cluster(cluster_id, status=ClusterStatus.PLAN_READY)
    ready = await client.get(live, params={"seen": seen.group(1)})
    assert ready.status_code == 200 and ready.text.lstrip().startswith('<div id="cluster"')
    assert "Made by the agent." in ready.text and 'data-live="no"' in ready.text
    assert (await client.get("/clusters/cl-00000000")).status_code == 404
    assert (await client.get("/clusters/nonsense")).status_code == 422


async def test_the_plan_is_edited_in_place_and_a_bad_edit_says_why_and_stores_nothing(
    dashboard: Dashboard,
) -> None:
    client = dashboard.client
    cluster_id = await make_cluster(dashboard)
    form = {
        "summary": "Say hello.\r\n", "hypotheses": "the string is wrong\r\n\r\nor the locale",
        "candidate_files": "greet.py\r\n", "validation_steps": "grep -q hello greet.py\r\ntrue",
    }  # fmt: skip
    saved = await client.post(f"/clusters/{cluster_id}/plan", data=form)
    assert saved.status_code == 303 and saved.headers["location"] == f"/clusters/{cluster_id}?edited=1"
    page = (await client.get(saved.headers["location"])).text
    assert "Saved as version 1 of the plan." in page and "<li>or the locale</li>" in page
    plan = (await client.get(f"/api/clusters/{cluster_id}/plan")).json()
    assert plan["summary"] == "Say hello." and plan["hypotheses"] == ["the string is wrong", "or the locale"]
    assert plan["validation_steps"] == ["grep -q hello greet.py", "true"]
    assert plan["metadata"]["source"] == "edited"
    assert (await client.get(f"/api/clusters/{cluster_id}")).json()["status"] == "plan_ready"

    too_many = "\n".join(f"f{n}.py" for n in range(51))
    for change, says in [
        ({"summary": "  "}, "Write the plan&#39;s summary first."),
        ({"hypotheses": "fine\n" + "x" * 2001}, "Hypotheses, line 2: String should have at most 2000 char"),
        ({"candidate_files": too_many}, "Candidate files: List should have at most 50 items"),
        ({"summary": "a\x00b"}, "summary contains a NUL character"),
    ]:
        refused = await client.post(f"/clusters/{cluster_id}/plan", data={**form, **change})
        assert refused.status_code == 422 and says in refused.text, (change, refused.text[-2000:])
        assert '<details class="edit-plan" id="edit-plan" open>' in refused.text  # the form, as typed
    assert 'rows="3">the string is wrong\r\n\r\nor the locale</textarea>' in refused.text

    await dashboard.store.update_cluster(cluster_id, status=ClusterStatus.FIXING)
    busy = await client.post(f"/clusters/{cluster_id}/plan", data=form)
    assert (
        busy.status_code == 409
        and f"cluster {cluster_id} is fixing: edit its plan once that ends" in busy.text
    )
    assert 'data-live="no"' in busy.text  # no poll would take the typed plan away
    elsewhere = await client.post(
        f"/clusters/{cluster_id}/plan", data=form, headers={"Origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 403
    versions = (await client.get(f"/api/clusters/{cluster_id}/plan/versions")).json()["versions"]
    assert [v["version"] for v in versions] == [1]


async def test_plan_and_fix_buttons_say_why_they_could_not_start(dashboard: Dashboard) -> None:
    client = dashboard.client
    cluster_id = await make_cluster(dashboard)
    for path, fields in [("generate", {"runner": "sandbox_kilo"}), ("start_fix", {"generate_plan": "on"})]:
        refused = await client.post(f"/clusters/{cluster_id}/{path}", data=fields)
        assert refused.status_code == 409 and NO_ENGINE in refused.text
    unknown = await client.post(f"/clusters/{cluster_id}/start_fix", data={"runner": "nonesuch"})
    assert (
        unknown.status_code == 422
        and "unknown runner &#39;nonesuch&#39;; known: sandbox_kilo" in unknown.text
    )
    assert (await client.get("/api/jobs")).json()["total"] == 0
    gone = await client.post("/clusters/cl-00000000/start_fix", data={})
    assert gone.status_code == 404


async def test_a_job_page_shows_its_log_while_it_runs_then_its_pull_request(
    dashboard: Dashboard, seed: Seed
) -> None:
    client = dashboard.client
    cluster_id = await make_cluster(dashboard)
    await put_plan(dashboard, cluster_id)
    wo = await seed(status="running")
    job = await make_job(dashboard, cluster_id, plan_version=1, work_order_id=wo.id, log=[f"remote {XSS}"])
    await add_log_lines(dashboard.store, wo.id, ["cloning", "editing greet.py"])
    html = (await client.get(f"/jobs/{job.id}")).text
    lines = re.findall(r'<li class="line">(.*?)</li>', html)
    assert lines[0] == "remote &lt;script&gt;alert(1)&lt;/script&gt;" and len(lines) == 3
    assert lines[1].endswith("build cloning") and lines[2].endswith("build editing greet.py")
    assert f'<a class="mono" href="/work-orders/{wo.id}">{wo.id}</a>' in html and "none yet" in html
    assert f'href="/clusters/{cluster_id}?version=1#plan">version 1</a>' in html
    assert f'action="/jobs/{job.id}/cancel"' in html
    seen = re.search(rf'hx-get="/jobs/{job.id}/live\?seen=(\w+)" hx-trigger="every 2s"', html)
    assert seen is not None  # the log follows the job while it runs
    unchanged = await client.get(f"/jobs/{job.id}/live", params={"seen": seen.group(1)})
    assert unchanged.status_code == 204
    await add_log_lines(dashboard.store, wo.id, ["validating"])
    grown = await client.get(f"/jobs/{job.id}/live", params={"seen": seen.group(1)})
    assert grown.status_code == 200 and grown.text.lstrip().startswith('<div id="job"')
    assert "build validating</li>" in grown.text

    refused = await client.post(f"/jobs/{job.id}/cancel")
    assert refused.status_code == 409 and NO_ENGINE in refused.text  # the button asked PlanService.cancel

    pr_url = "https://github.com/acme/widgets/pull/4"
    await dashboard.store.update_job(job.id, status=JobStatus.SUCCEEDED, pr_url=pr_url)
    ended = (await client.get(f"/jobs/{job.id}")).text
    assert f'<a href="{pr_url}" rel="noopener noreferrer">{pr_url}</a>' in ended
    assert 'badge-completed">succeeded<' in ended and "/live?seen=" not in ended and "/cancel" not in ended
    over = await client.post(f"/jobs/{job.id}/cancel")
    assert over.status_code == 409 and f"job {job.id} is succeeded; nothing to cancel" in over.text

    sent = await make_job(dashboard, await make_cluster(dashboard), pr_url="javascript:alert(1)")
    assert 'href="javascript:' not in (await client.get(f"/jobs/{sent.id}")).text
    assert (await client.get("/jobs/job-00000000")).status_code == 404
    assert (await client.get("/jobs/nonsense")).status_code == 422


@pytest.fixture
async def served(make_settings: MakeSettings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app with its engine: jobs run with the replay agent on the local forge."""
    fix = [{"write": "greet.py", "content": "print('hello')\n"}, {"message": "The greeting says hello now."}]
    replay = tmp_path / "replay.yaml"
    replay.write_text(yaml.safe_dump({"fix": fix}))
    settings = make_settings(
        agent="replay", replay_file=replay, runners={"replayed": RunnerConfig(agent="replay")},
        coding_agent_runner="replayed",
    )  # fmt: skip
    async with (
        running_server(settings, persistent=False, port=0, announce=False) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        yield client


async def ended(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while (job := (await client.get(f"/api/jobs/{job_id}")).json())["status"] not in ENDED:
            await asyncio.sleep(0.2)
    return job  # type: ignore[no-any-return]


async def test_start_fix_runs_a_job_whose_page_follows_it_to_its_pull_request_and_cancels_one(
    served: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    client = served
    repo = make_repo("widgets", {"greet.py": "print('go away')\n"})
    items = [{"source": "email", "text": "It told me to go away"}]
    made = await client.post(
        "/api/clusters", json={"title": "Rude greeting", "repo": str(repo), "items": items}
    )
    cluster_id = made.json()["id"]
    page = (await client.get(f"/clusters/{cluster_id}")).text
    assert (
        'Active runner: <strong class="mono">replayed</strong>,\n  replay in a git_worktree sandbox' in page
    )
    assert '<input type="radio" name="runner" value="replayed" checked>' in page
    assert '<input type="radio" name="runner" value="sandbox_kilo">' in page
    form = {
        "summary": "Say hello.",
        "candidate_files": "greet.py",
        "validation_steps": "grep -q hello greet.py",
    }
    assert (await client.post(f"/clusters/{cluster_id}/plan", data=form)).status_code == 303

    started = await client.post(f"/clusters/{cluster_id}/start_fix", data={"runner": "replayed"})
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/job-")
    job_id = started.headers["location"].removeprefix("/jobs/")
    job = await ended(client, job_id)
    assert job["status"] == "succeeded", job
    html = (await client.get(f"/jobs/{job_id}")).text
    assert f'<a href="{job["pr_url"]}" rel="noopener noreferrer">{job["pr_url"]}</a>' in html
    assert "The greeting says hello now." in html and "✓ passed" in html
    assert f'href="/work-orders/{job["work_order_id"]}"' in html and "/cancel" not in html
    cluster = (await client.get(f"/clusters/{cluster_id}")).text
    assert 'badge-completed">pr_opened<' in cluster and f'href="/jobs/{job_id}"' in cluster

    slow = {**form, "validation_steps": nap(3011)}
    assert (await client.post(f"/clusters/{cluster_id}/plan", data=slow)).status_code == 303
    started = await client.post(f"/clusters/{cluster_id}/start_fix", data={"runner": "replayed"})
    job_id = started.headers["location"].removeprefix("/jobs/")
    assert f'action="/jobs/{job_id}/cancel"' in (await client.get(f"/jobs/{job_id}")).text
    cancelled = await client.post(f"/jobs/{job_id}/cancel")
    assert cancelled.status_code == 303 and cancelled.headers["location"] == f"/jobs/{job_id}?done=cancel"
    assert "Cancel requested" in (await client.get(cancelled.headers["location"])).text
    assert (await ended(client, job_id))["status"] == "cancelled"
    assert 'badge-cancelled">cancelled<' in (await client.get(f"/jobs/{job_id}")).text
