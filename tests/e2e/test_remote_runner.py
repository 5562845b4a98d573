"""The `remote` runner end to end: a job handed to an executor on loopback (a small app that records
what it is sent) by one POST signed with the runner's secret; the executor's callbacks, with the
token it was handed, drive the job to its end, and no other token will do. An executor that refuses
the job, cannot be reached or never reports fails it; a cancel ends it; the secret is never shown."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shipyard.cli.server import RunningServer
from shipyard.config import RunnerConfig, Settings
from shipyard.engine.devserver import free_port
from support import MakeSettings, serving

SECRET = f"executor-secret-{secrets.token_hex(8)}"
API_TOKEN = secrets.token_urlsafe(24)
PLAN = {
    "summary": "The greeting is rude.",
    "hypotheses": ["greet.py says 'go away'"],
    "candidate_files": ["greet.py"],
    "validation_steps": ["grep -q hello greet.py"],
}
PR_URL = "https://github.com/acme/widgets/pull/12"
ENDED = {"succeeded", "failed", "cancelled"}


@dataclass
class Handed:
    """One POST the executor received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class Executor:
    url: str
    received: list[Handed] = field(default_factory=list)

    async def handed(self, count: int) -> list[Handed]:
        """The first `count` jobs handed out (waits for them)."""
        async with asyncio.timeout(60):
            while len(self.received) < count:
                await asyncio.sleep(0.1)
        return self.received[:count]


@pytest.fixture
async def executor() -> AsyncIterator[Executor]:
    """An outside executor: it takes any job POSTed to /take (202) and refuses those to /broken (500)."""
    received: list[Handed] = []

    async def take(request: Request) -> Response:
        received.append(Handed(request.url.path, dict(request.headers), await request.body()))
        return Response(status_code=500 if request.path_params["answer"] == "broken" else 202)

    app = Starlette(routes=[Route("/{answer}", take, methods=["POST"])])
    async with serving(app) as url:
        yield Executor(url, received)


@pytest.fixture
def settings(make_settings: MakeSettings, executor: Executor) -> Settings:
    def remote(path: str, **options: Any) -> RunnerConfig:
        return RunnerConfig(kind="remote", url=f"{executor.url}{path}", secret=SecretStr(SECRET), **options)

    runners = {
        "legacy": remote("/take", timeout_s=600),
        "silent": remote("/take", timeout_s=2),
        "broken": remote("/broken"),  # the default timeout (an hour): a refusal must not wait for it
        "gone": RunnerConfig(
            kind="remote", url=f"http://127.0.0.1:{free_port()}/jobs", secret=SecretStr(SECRET)
        ),
    }
    return make_settings(api_token=SecretStr(API_TOKEN), runners=runners)


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    bearer = {"Authorization": f"Bearer {API_TOKEN}"}
    async with httpx.AsyncClient(base_url=server.url, headers=bearer, timeout=30) as client:
        yield client


async def report(url: str, token: str | None, **body: Any) -> httpx.Response:
    """A callback, as the executor sends it (not with the API's client: no API token)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, json=body, headers=headers)


async def until_ended(api: httpx.AsyncClient, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while (job := (await api.get(f"/api/jobs/{job_id}")).json())["status"] not in ENDED:
            await asyncio.sleep(0.2)
    found: dict[str, Any] = job
    return found


async def planned_cluster(api: httpx.AsyncClient, title: str, plan: bool = True) -> str:
    items = [{"source": "email", "text": f"{title}: it told me to go away"}]
    made = await api.post(
        "/api/clusters", json={"title": title, "items": items, "repo": "https://github.com/acme/widgets"}
    )
    assert made.status_code == 201, made.text
    cid: str = made.json()["id"]
    if plan:
        assert (await api.put(f"/api/clusters/{cid}/plan", json=PLAN)).status_code == 200
    return cid


async def start(api: httpx.AsyncClient, cid: str, runner: str) -> str:
    started = await api.post(f"/api/clusters/{cid}/start_fix", json={"runner": runner})
    assert started.status_code == 202, started.text
    assert started.json()["runner"] == runner
    job_id: str = started.json()["job_id"]
    return job_id


def message(answer: httpx.Response) -> str:
    text: str = answer.json()["error"]["message"]
    return text


async def shown(api: httpx.AsyncClient, job_id: str) -> str:
    """Everything the API shows of a job and its cluster, as text."""
    job = (await api.get(f"/api/jobs/{job_id}")).json()
    views = [job, (await api.get(f"/api/jobs/{job_id}/logs")).json()]
    views.append((await api.get(f"/api/clusters/{job['cluster_id']}")).json())
    return json.dumps(views)


def assert_secret_kept(data_dir: Path) -> None:
    """Nothing the server wrote (its database, its logs) holds the runner's secret."""
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


async def test_a_remote_job_is_handed_out_signed_and_driven_by_its_own_callbacks(
    api: httpx.AsyncClient, executor: Executor, server: RunningServer, settings: Settings
) -> None:
    cid = await planned_cluster(api, "Rude greeting", plan=False)
    refused = await api.post(f"/api/clusters/{cid}/plan", params={"runner": "legacy"})
    assert refused.status_code == 422 and "work order runner" in message(refused), refused.text
    for generate in (False, True):
        unplanned = await api.post(
            f"/api/clusters/{cid}/start_fix", json={"runner": "legacy", "generate_plan": generate}
        )
        assert unplanned.status_code == 409, unplanned.text
        assert "no plan" in message(unplanned) and "remote" in message(unplanned)
        assert "generate_plan" not in message(unplanned)  # it cannot help: a remote runner makes no plan
    assert (await api.get("/api/jobs")).json()["total"] == 0
    assert (await api.get(f"/api/clusters/{cid}")).json()["status"] == "new"

    assert (await api.put(f"/api/clusters/{cid}/plan", json=PLAN)).status_code == 200
    job_id = await start(api, cid, "legacy")
    [handed] = await executor.handed(1)
    signed = "sha256=" + hmac.new(SECRET.encode(), handed.body, hashlib.sha256).hexdigest()
    assert handed.headers["x-shipyard-signature-256"] == signed
    payload = handed.payload()
    assert payload["job"]["id"] == job_id and payload["job"]["plan_version"] == 1
    assert payload["cluster"]["id"] == cid and payload["cluster"]["title"] == "Rude greeting"
    assert payload["cluster"]["repository_url"] == "https://github.com/acme/widgets"
    assert payload["plan"] == PLAN
    callback = payload["callback"]
    assert callback["url"] == f"{server.url}/api/jobs/{job_id}/callback" and callback["token"]

    # Another job's token is good for that job only.
    other_cid = await planned_cluster(api, "Slow start")
    other_id = await start(api, other_cid, "legacy")
    other = (await executor.handed(2))[1].payload()["callback"]
    assert other["token"] != callback["token"]
    for token in (None, other["token"], "garbage", SECRET):
        answer = await report(callback["url"], token, status="succeeded", pr_url=PR_URL, log=["forged"])
        assert answer.status_code == 403, (token, answer.text)
    job = (await api.get(f"/api/jobs/{job_id}")).json()
    assert (job["status"], job["pr_url"], job["log_excerpt"]) == ("running", None, [])
    assert (await api.get(f"/api/clusters/{cid}")).json()["status"] == "fixing"

    malformed = await report(callback["url"], callback["token"], status="done", log="one line")
    assert malformed.status_code == 422, malformed.text

    lines = ["cloned acme/widgets", "greet.py: 'go away' → 'hello'"]
    running = await report(callback["url"], callback["token"], status="running", log=lines[:1])
    assert running.status_code == 200 and running.json()["status"] == "running", running.text
    by_api = await api.post(f"/api/jobs/{job_id}/callback", json={"status": "running", "log": lines[1:]})
    assert by_api.status_code == 200, by_api.text  # the API token will do too
    assert (await api.get(f"/api/jobs/{job_id}/logs")).json()["lines"] == lines
    done = await report(callback["url"], callback["token"], status="succeeded", pr_url=PR_URL, log=["opened"])
    assert done.status_code == 200, done.text
    job = await until_ended(api, job_id)
    assert (job["status"], job["pr_url"], job["error"]) == ("succeeded", PR_URL, None)
    assert job["log_excerpt"] == [*lines, "opened"]
    cluster = (await api.get(f"/api/clusters/{cid}")).json()
    assert cluster["status"] == "pr_opened" and cluster["latest_job"]["pr_url"] == PR_URL
    late = await report(callback["url"], callback["token"], status="running", log=["more"])
    assert late.status_code == 409, late.text

    # Cancelled while its executor works on it.
    cancelled = await api.patch(f"/api/jobs/{other_id}", json={"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    other_job = await until_ended(api, other_id, timeout_s=30)
    assert other_job["status"] == "cancelled"
    assert (await api.get(f"/api/clusters/{other_cid}")).json()["status"] == "plan_ready"
    late = await report(other["url"], other["token"], status="succeeded", pr_url=PR_URL)
    assert late.status_code == 409, late.text

    assert len(executor.received) == 2  # one call per job
    for shown_job in (job_id, other_id):
        assert SECRET not in await shown(api, shown_job)
    assert_secret_kept(settings.data_dir)


async def test_a_remote_job_fails_when_its_executor_refuses_it_cannot_be_reached_or_stays_silent(
    api: httpx.AsyncClient, executor: Executor, settings: Settings
) -> None:
    jobs = {
        runner: await start(api, await planned_cluster(api, runner), runner)
        for runner in ("broken", "gone", "silent")
    }
    ended = {runner: await until_ended(api, job_id) for runner, job_id in jobs.items()}
    assert {runner: job["status"] for runner, job in ended.items()} == dict.fromkeys(jobs, "failed")
    assert "did not take the job" in ended["broken"]["error"] and "500" in ended["broken"]["error"]
    assert "did not take the job" in ended["gone"]["error"] and "could not reach" in ended["gone"]["error"]
    assert "did not report" in ended["silent"]["error"] and "within 2 s" in ended["silent"]["error"]
    for job in ended.values():
        cluster = (await api.get(f"/api/clusters/{job['cluster_id']}")).json()
        assert (cluster["status"], cluster["error"]) == ("failed", job["error"])
    # Each was asked once: a refusal is not retried.
    assert sorted(h.path for h in executor.received) == ["/broken", "/take"]
    for job_id in jobs.values():
        assert SECRET not in await shown(api, job_id)
    assert_secret_kept(settings.data_dir)
