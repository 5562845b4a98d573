"""Turning CLI arguments into requests and API answers into Rich output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.cli.common import CliError
from shipyard.domain.errors import InvalidInput
from shipyard.gitutil import local_path

OUTPUT_LINES = 20  # of an agent step's output in `shipyard show`

if TYPE_CHECKING:
    from rich.console import Console

    from shipyard.cli.server import RunningServer
    from shipyard.config import Settings


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--input takes key=value, got '{pair}'", exit_code=2)
        inputs[key.strip()] = value
    return inputs


def create_body(
    repository: str,
    workflow: str | None,
    workflow_file: Path | None,
    agent: str | None,
    sandbox: str | None,
    inputs: list[str],
    base_branch: str | None,
) -> dict[str, Any]:
    """The POST /api/agent-work-orders body for `shipyard run`."""
    if (workflow is None) == (workflow_file is None):
        raise CliError("give exactly one of --workflow NAME or --workflow-file FILE", exit_code=2)
    body: dict[str, Any] = {
        "repository_url": absolute_repository(repository),
        "workflow_type": workflow,
        "agent": agent,
        "sandbox_type": sandbox,
        "inputs": parse_inputs(inputs),
        "base_branch": base_branch,
    }
    if workflow_file is not None:
        try:
            body["workflow_definition"] = workflow_file.read_text()
        except OSError as err:
            raise CliError(f"cannot read workflow file {workflow_file}: {err.strerror}", exit_code=2) from err
        body["workflow_source"] = str(workflow_file)
    return {k: v for k, v in body.items() if v is not None}


def absolute_repository(repository: str) -> str:
    """A URL as it is; a path made absolute (the server may run elsewhere than this directory)."""
    return repository if "://" in repository else _absolute(repository)


def _absolute(path: str) -> str:
    try:
        return str(local_path(path).resolve())
    except InvalidInput as err:
        raise CliError(str(err), exit_code=2) from None


def print_banner(console: Console, settings: Settings, srv: RunningServer, worker: bool = True) -> None:
    engine = srv.engine
    db = settings.resolved_database_url
    kind = "sqlite" if db.startswith("sqlite") else "postgresql"
    where = db.split("///", 1)[-1] if kind == "sqlite" else db.split("@")[-1]
    console.print(f"  database   {kind}  {where}  (migrations applied)")
    mode = f"embedded dev server {engine.temporal_address}" if engine.devserver else engine.temporal_address
    console.print(f"  temporal   {mode}")
    if worker:
        where = f"{len(srv.workers.pids)} processes" if srv.workers else "in this process"
        console.print(
            f"  worker     {where}, {settings.worker_slots} slots each;  agents: {agents_line(settings)}"
        )
    else:
        console.print("  worker     none here (--no-worker): `shipyard worker` processes run the work")
    console.print(f"  dashboard  {srv.url}      API docs  {srv.url}/docs")


def agents_line(settings: Settings) -> str:
    from shipyard.agents.registry import describe_agents

    parts = []
    for name, _, avail in describe_agents(settings):
        parts.append(f"{name} ✓" if avail.state == "ready" else f"{name} ✗ ({avail.state})")
    return "  ".join(parts)


def print_work_orders(console: Console, page: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("id", "status", "phase", "workflow", "agent", "commits", "created", box=None)
    for wo in page["agent_work_orders"]:
        table.add_row(
            wo["agent_work_order_id"], wo["status"], wo["current_phase"] or "", wo["workflow_type"],
            wo["agent"], str(wo["git_commit_count"]), wo["created_at"][:19].replace("T", " "),
        )  # fmt: skip
    console.print(table)
    console.print(f"[dim]{len(page['agent_work_orders'])} of {page['total_count']}[/]")


def print_work_order(
    console: Console,
    wo: dict[str, Any],
    steps: list[dict[str, Any]],
    children: list[dict[str, Any]] | None = None,
    dashboard: str | None = None,
) -> None:
    """A work order, its steps and the children its calls started (linked to the dashboard when
    there is one to link to)."""
    from rich.markup import escape

    console.print(f"[bold]{wo['agent_work_order_id']}[/]  {wo['status']}  {wo['current_phase'] or ''}")
    for key in (
        "repository_url",
        "workflow_type",
        "agent",
        "sandbox_type",
        "git_branch_name",
        "base_branch",
    ):
        console.print(f"  {key:<18} {wo[key]}")
    console.print(
        f"  git                {wo['git_commit_count']} commits, {wo['git_files_changed']} files,"
        f" +{wo['git_lines_added']} -{wo['git_lines_removed']}"
    )
    usage = wo["usage"]
    if usage["turns"] or usage["input_tokens"] or usage["output_tokens"]:
        console.print(f"  usage              {usage_text(usage)}")
    if wo.get("agent_session_id"):
        console.print(f"  session            {wo['agent_session_id']}")
    if wo.get("github_pull_request_url"):
        console.print(f"  pull request       {wo['github_pull_request_url']}")
    if wo.get("parent_id"):
        console.print(f"  parent             {wo['parent_id']}")
    if wo.get("error_message"):
        console.print(f"  [red]error[/]              {escape(wo['error_message'])}")
    for step in steps:
        print_step(console, step)
    if children:
        console.print(f"  children ({len(children)})")
    for child in children or []:
        link = f"{dashboard}/work-orders/{child['agent_work_order_id']}" if dashboard else ""
        where = child.get("github_pull_request_url") or child.get("git_branch_name") or ""
        console.print(f"    {child['status']:<10} {child['agent_work_order_id']}  {where}  {link}".rstrip())


def print_step(console: Console, step: dict[str, Any]) -> None:
    """A step's line; under it a failed step's error, an agent step's usage and its output's start."""
    from rich.padding import Padding
    from rich.text import Text

    console.print(Text(f"    {step['status']:<10} {step['step_id']:<14} {step.get('phase') or ''}".rstrip()))
    below = Text()
    if step.get("error"):
        below.append(f"error: {step['error']}\n", style="red")
    if step.get("agent"):  # an agent step that ran
        usage = {key[len("usage_") :]: value for key, value in step.items() if key.startswith("usage_")}
        below.append(f"{step['agent']}  {usage_text(usage)}\n", style="dim")
        lines = (step.get("output") or "").strip().splitlines()
        below.append("\n".join(lines[:OUTPUT_LINES]))
        if len(lines) > OUTPUT_LINES:
            below.append(f"\n… {len(lines) - OUTPUT_LINES} more lines (--json shows all)", style="dim")
    below.rstrip()
    if below:
        console.print(Padding(below, (0, 0, 0, 15), expand=False))


def usage_text(usage: dict[str, Any]) -> str:
    """`3 turns, 34,160 tokens (34,010 in, 150 out), $0.01`: the cost when the agent reported it or a
    price table knew its model, `~$0.01 (estimated)` in the second case."""
    tokens_in, tokens_out = usage["input_tokens"], usage["output_tokens"]
    cached, reasoning = usage.get("cached_input_tokens") or 0, usage.get("reasoning_tokens") or 0
    parts = f"{tokens_in:,} in" + (f" of which {cached:,} cached" if cached else "")
    parts += f", {tokens_out:,} out" + (f" of which {reasoning:,} reasoning" if reasoning else "")
    text = f"{usage['turns']} turns, {tokens_in + tokens_out:,} tokens ({parts})"
    cost = usage.get("cost_usd")
    if cost is None:
        return text
    return text + (f", ~${cost:.2f} (estimated)" if usage.get("cost_estimated") else f", ${cost:.2f}")


def format_log_entry(entry: dict[str, Any]) -> str:
    skip = {"id", "timestamp", "level", "event", "agent_work_order_id", "step_id"}
    extra = " ".join(f"{k}={v}" for k, v in entry.items() if k not in skip and v is not None)
    step = f" [{entry['step_id']}]" if entry.get("step_id") else ""
    return f"{str(entry['timestamp'])[:19]} {entry['level']:<7} {entry['event']}{step} {extra}"
