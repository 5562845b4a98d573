"""`shipyard clusters` and `shipyard jobs` (seed 004): make a cluster of feedback, have its plan
made, read and edit it, run the fix as a job and follow it to its pull request."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from shipyard.cli.common import CliError, ServerOpt, api_for, console, run_async

clusters_app = typer.Typer(
    help="Feedback clusters: a coding plan made by an agent and edited by people, then a fix job "
    "that opens a pull request (needs `shipyard serve`).",
    no_args_is_help=True,
)
jobs_app = typer.Typer(help="Fix jobs: read one, follow its log, cancel it.", no_args_is_help=True)
ClusterArg = Annotated[str, typer.Argument(help="The cluster's id (cl-…).")]
JobArg = Annotated[str, typer.Argument(help="The job's id (job-…).")]
RunnerOpt = Annotated[str | None, typer.Option(help="A runner by name (default: the install's).")]
_JOB_ENDED = ("succeeded", "failed", "cancelled")


def _read_file(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise CliError(f"cannot read {path}: {err}") from None


@clusters_app.command("create")
def create(
    file: Annotated[Path, typer.Argument(help="YAML or JSON: title, summary, items, and repo or project.")],
    server: ServerOpt = None,
) -> None:
    """Record a cluster of feedback from a file; prints its id."""

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            made: dict[str, Any] = await api.post("/api/clusters", _read_file(file))
            return made

    cluster = run_async(main)
    console().print(f"{cluster['id']}  {cluster['status']}  {cluster['repo']}", highlight=False)


@clusters_app.command("ls")
def list_clusters(
    status: Annotated[str | None, typer.Option(help="Only clusters in this status.")] = None,
    server: ServerOpt = None,
) -> None:
    """Clusters, newest first: status, plan version, latest job."""

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            found: dict[str, Any] = await api.get("/api/clusters", status=status)
            return found

    for cluster in run_async(main)["clusters"]:
        console().print(_cluster_line(cluster), highlight=False)


def _cluster_line(cluster: dict[str, Any]) -> str:
    plan = f"plan v{cluster['plan_version']}" if cluster["plan_version"] else "no plan"
    job = cluster["latest_job"]
    last = f"  {job['id']} {job['status']}" + (f" {job['pr_url']}" if job["pr_url"] else "") if job else ""
    return f"{cluster['id']}  {cluster['status']:<10} {plan:<8} {cluster['title']}{last}"


@clusters_app.command("show")
def show(cluster_id: ClusterArg, server: ServerOpt = None) -> None:
    """A cluster: its feedback, its latest plan and its jobs."""

    async def main() -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]:
        async with await api_for(server) as api:
            cluster = await api.get(f"/api/clusters/{cluster_id}")
            plan = await api.get(f"/api/clusters/{cluster_id}/plan") if cluster["plan_version"] else None
            return cluster, plan, (await api.get("/api/jobs", cluster_id=cluster_id))["jobs"]

    cluster, plan, jobs = run_async(main)
    out = console()
    out.print(_cluster_line(cluster), highlight=False)
    if cluster["error"]:
        out.print(f"[red]{cluster['error']}[/]", highlight=False)
    for item in cluster["items"]:
        out.print(f"  - {item['source']}: {' '.join(item['text'].split())[:100]}", highlight=False)
    if plan is not None:
        _print_plan(plan)
    for job in jobs:
        out.print(f"{job['id']}  {job['status']:<10} {job['runner']}  {job['pr_url'] or ''}", highlight=False)


def _print_plan(plan: dict[str, Any]) -> None:
    out = console()
    meta = plan["metadata"]
    out.print(f"[bold]plan v{plan['version']}[/] ({meta['source']})", highlight=False)
    out.print(plan["summary"], highlight=False, markup=False)
    parts = {"hypotheses": "hypothesis", "candidate_files": "file", "validation_steps": "validation"}
    for key, title in parts.items():
        for entry in plan[key]:
            out.print(f"  {title}: {entry}", highlight=False, markup=False)


@clusters_app.command("plan")
def plan(
    cluster_id: ClusterArg,
    edit: Annotated[
        Path | None, typer.Option(help="Store this file (YAML or JSON, a whole plan) as its next version.")
    ] = None,
    runner: RunnerOpt = None,
    server: ServerOpt = None,
) -> None:
    """Have an agent make the cluster's plan (a new version) and print it; with --edit, store a
    person's version instead."""

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            if edit is not None:
                edited: dict[str, Any] = await api.put(f"/api/clusters/{cluster_id}/plan", _read_file(edit))
                return edited
            query = f"?runner={quote(runner)}" if runner else ""
            cluster = await api.post(f"/api/clusters/{cluster_id}/plan{query}", {})
            console().print(f"{cluster_id}: making its plan …")
            while cluster["status"] == "planning":
                await asyncio.sleep(1)
                cluster = await api.get(f"/api/clusters/{cluster_id}")
            if cluster["status"] == "failed":
                raise CliError(f"{cluster_id}: {cluster['error']}")
            made: dict[str, Any] = await api.get(f"/api/clusters/{cluster_id}/plan")
            return made

    _print_plan(run_async(main))


@clusters_app.command("fix")
def fix(
    cluster_id: ClusterArg,
    runner: RunnerOpt = None,
    generate_plan: Annotated[bool, typer.Option(help="Make the plan first when there is none.")] = False,
    detach: Annotated[bool, typer.Option(help="Print the job's id and return at once.")] = False,
    server: ServerOpt = None,
) -> None:
    """Start a fix job from the cluster's plan and follow its log; exits 0 only when it succeeded."""
    body = {"runner": runner, "generate_plan": generate_plan}

    async def main() -> int:
        async with await api_for(server) as api:
            started = await api.post(f"/api/clusters/{cluster_id}/start_fix", body)
            console().print(f"job {started['job_id']} ({started['runner']})")
            return 0 if detach else await _follow(api, started["job_id"])

    raise typer.Exit(run_async(main))


async def _follow(api: Any, job_id: str) -> int:
    """Print the job's new log lines until it ends; 0 when it succeeded."""
    seen = 0
    while True:
        job = await api.get(f"/api/jobs/{job_id}")
        lines = (await api.get(f"/api/jobs/{job_id}/logs"))["lines"]
        for line in lines[seen:]:
            console().print(line, highlight=False, markup=False)
        seen = len(lines)
        if job["status"] in _JOB_ENDED:
            _print_end(job)
            return 0 if job["status"] == "succeeded" else 1
        await asyncio.sleep(1)


def _print_end(job: dict[str, Any]) -> None:
    style = "green" if job["status"] == "succeeded" else "red"
    said = f": {job['error']}" if job["error"] else ""
    console().print(f"[{style}]{job['id']} {job['status']}[/]{said}", highlight=False)
    if job["pr_url"]:
        console().print(f"pull request {job['pr_url']}", highlight=False)


@jobs_app.command("show")
def show_job(
    job_id: JobArg,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow its log until it ends.")] = False,
    server: ServerOpt = None,
) -> None:
    """A job: status, runner, plan version, pull request and the last lines of its log."""

    async def main() -> int:
        async with await api_for(server) as api:
            if follow:
                return await _follow(api, job_id)
            job = await api.get(f"/api/jobs/{job_id}")
            plan = f"plan v{job['plan_version']}" if job["plan_version"] else "no plan yet"
            console().print(f"{job['id']}  {job['status']}  {job['runner']}  {plan}", highlight=False)
            for line in job["log_excerpt"]:
                console().print(line, highlight=False, markup=False)
            if job["status"] in _JOB_ENDED:
                _print_end(job)
            return 0

    raise typer.Exit(run_async(main))


@jobs_app.command("cancel")
def cancel_job(job_id: JobArg, server: ServerOpt = None) -> None:
    """Stop the job: its work order is cancelled and its agent's processes killed."""

    async def main() -> dict[str, Any]:
        async with await api_for(server) as api:
            answer: dict[str, Any] = await api.patch(f"/api/jobs/{job_id}", {"status": "cancelled"})
            return answer

    job = run_async(main)
    console().print(f"{job_id}: cancel sent; {job['status']}")
