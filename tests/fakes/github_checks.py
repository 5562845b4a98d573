"""The fake GitHub's check runs: "List check runs for a Git reference" in GitHub's REST shape (an
object holding `total_count` and a page of `check_runs`), filtered as GitHub filters them. A test
reports a run with `FakeGitHub.add_check_run`, as a CI app would through the Checks API."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes.github_json import WEB, CheckRun, FakeRepo, GitHubError, user_json
from fakes.github_refs import read_ref
from fakes.github_reviews import one_page

if TYPE_CHECKING:
    from fakes.github_api import FakeGitHub

_SHA = re.compile(r"[0-9a-f]{40}")
CI_APP_ID = 15368  # GitHub Actions' app id
_STAMP = "2026-11-01T12:00:00Z"


def app_json() -> dict[str, Any]:
    """The GitHub App that reported the runs (an `integration`): GitHub Actions."""
    return {
        "id": CI_APP_ID, "slug": "github-actions", "client_id": "Iv1.05c79e9ad1f6bdfa",
        "node_id": "MDM6QXBwMTUzNjg=", "owner": user_json("github", 9919, "Organization"),
        "name": "GitHub Actions", "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions", "html_url": f"{WEB}/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z", "updated_at": "2019-12-10T19:04:12Z",
        "permissions": {"actions": "write", "checks": "write", "contents": "write", "metadata": "read"},
        "events": ["check_run", "check_suite", "pull_request", "push", "workflow_dispatch"],
    }  # fmt: skip


def check_run_json(repo: dict[str, Any], run: CheckRun) -> dict[str, Any]:
    """A check run ("Get a check run")."""
    url = f"{repo['url']}/check-runs/{run.id}"
    return {
        "id": run.id, "head_sha": run.head_sha, "node_id": f"CR_kwDO{run.id:08d}", "external_id": "",
        "url": url, "html_url": f"{repo['html_url']}/runs/{run.id}",
        "details_url": f"{repo['html_url']}/actions/runs/{run.id}/job/{run.id}", "status": run.status,
        "conclusion": run.conclusion, "started_at": run.started_at, "completed_at": run.completed_at,
        "output": {
            "title": run.title, "summary": run.summary, "text": None, "annotations_count": 0,
            "annotations_url": f"{url}/annotations",
        },
        "name": run.name, "check_suite": {"id": run.suite_id}, "app": app_json(),
        "pull_requests": [],
    }  # fmt: skip


def listed(repo: FakeRepo, sha: str, request: Request) -> list[CheckRun]:
    """The runs on commit `sha` a list answers, newest first: by `check_name` and `status`, and only
    the latest of each name in each check suite unless `filter=all` (a re-run hides the run before it)."""
    query = request.query_params
    runs = [run for run in reversed(repo.check_runs) if run.head_sha == sha]
    if query.get("filter", "latest") != "all":
        newest: dict[tuple[int, str], CheckRun] = {}
        for run in runs:
            newest.setdefault((run.suite_id, run.name), run)
        runs = list(newest.values())
    if "check_name" in query:
        runs = [run for run in runs if run.name == query["check_name"]]
    if "status" in query:
        runs = [run for run in runs if run.status == query["status"]]
    if query.get("app_id", str(CI_APP_ID)) != str(CI_APP_ID):
        return []
    return runs


def add_check_routes(app: FastAPI, fake: FakeGitHub) -> None:
    """Mount the routes on the fake's app."""

    @app.get("/repos/{owner}/{name}/commits/{ref:path}/check-runs")
    async def list_for_ref(owner: str, name: str, ref: str, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        sha = ref if _SHA.fullmatch(ref) else None
        sha = sha or read_ref(fake, repo, f"refs/heads/{ref}") or read_ref(fake, repo, f"refs/tags/{ref}")
        if sha is None:
            raise GitHubError(422, f"No commit found for SHA: {ref}")
        runs = [check_run_json(repo.json, run) for run in listed(repo, sha, request)]
        chunk, link = one_page(request, runs)
        body = {"total_count": len(runs), "check_runs": chunk}
        return JSONResponse(body, headers={"Link": link} if link else None)
