"""`shipyard run --dry-run`: the plan a work order would follow, asked of the API, printed by layer."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from shipyard.cli.common import api_for, console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

PROMPT_LINES = 8  # of a prompt shown under its step


async def dry_run(server: str | None, body: dict[str, Any], as_json: bool) -> None:
    """Ask for the plan (the server's, else in-process: no engine is needed) and print it."""
    async with await api_for(server) as api:
        plan: dict[str, Any] = await api.post("/api/agent-work-orders", {**body, "dry_run": True})
    if as_json:
        sys.stdout.write(json.dumps(plan, indent=2) + "\n")
    else:
        print_plan(console(), plan)


def print_plan(out: Console, plan: dict[str, Any]) -> None:
    """The work order it would be, then its steps layer by layer."""
    from rich.text import Text

    workflow = plan["workflow"]
    out.print(Text.assemble(("dry run", "bold yellow"), ": nothing was created or started"))
    facts = {
        "workflow": f"{workflow['name']}  ({workflow['source'] or 'inline'})",
        "repository": plan["repository_url"],
        "agent": plan["agent"],
        "sandbox": plan["sandbox_type"],
        "base branch": plan["base_branch"] or "the repository's default",
    }
    for name, value in workflow["inputs"].items():
        facts[f"input {name}"] = _one_line(json.dumps(value, ensure_ascii=False))
    for key, value in facts.items():
        out.print(Text(f"  {key:<12} {value}"))
    steps = {step["id"]: step for step in workflow["steps"]}
    for index, layer in enumerate(workflow["layers"], start=1):
        together = f"  ({len(layer)} steps at the same time)" if len(layer) > 1 else ""
        out.print(Text.assemble("\n", (f"layer {index}", "bold"), (together, "dim")))
        for step_id in layer:
            print_planned_step(out, steps[step_id])


def print_planned_step(out: Console, step: dict[str, Any]) -> None:
    """`id  kind · phase · agent · after …`, then its condition, text, commit and secrets."""
    from rich.padding import Padding
    from rich.text import Text

    who = [step["agent"], step["model"] and f"model {step['model']}"]
    after = "after " + ", ".join(step["depends_on"]) if step["depends_on"] else "at the start"
    facts = " · ".join(part for part in (step["kind"], step["phase"], *who, after) if part)
    out.print(Text.assemble(("  " + step["id"], "bold cyan"), "  ", (facts, "dim")))
    below = Text()
    if step["when"]:
        below.append(f"when {step['when']}\n", style="yellow")
    if step["text"]:
        below.append_text(_text(step["kind"], step["text"]))
    if step["commit"]:
        message = step["commit"]["rendered"] or step["commit"]["template"]
        below.append(f"commit: {_one_line(message)}\n", style="green")
    if step["secrets"]:
        below.append(f"secrets: {', '.join(step['secrets'])}\n", style="dim")
    if step.get("call"):
        below.append_text(_call(step["call"]))
    below.rstrip()
    if below:
        out.print(Padding(below, (0, 0, 0, 4), expand=False))


def _call(call: dict[str, Any]) -> Text:
    """`calls W (merge: M)`, then one line per child it would start, or why they are not known yet."""
    from rich.text import Text

    at_once = f", {call['max_parallel']} at once" if call["max_parallel"] else ""
    shown = Text(f"calls {call['workflow']} (merge: {call['merge']}{at_once})\n", style="magenta")
    if call["children"] is None:
        shown.append(f"  children known when it runs: {call['note']}\n", style="dim")
    for child in call["children"] or []:
        inputs = ", ".join(
            f"{k}={_one_line(json.dumps(v, ensure_ascii=False))}" for k, v in child["inputs"].items()
        )
        shown.append(f"  child: {inputs or 'no inputs'}\n")
    return shown


def _text(kind: str, text: dict[str, Any]) -> Text:
    from rich.text import Text

    shown = Text()
    body = text["rendered"] if text["rendered"] is not None else text["template"]
    if text["rendered"] is None:
        shown.append("as written (rendered when it runs):\n", style="dim italic")
    lines = body.strip().splitlines() or [""]
    prefix = {
        "run": "$ ", "pr": "pull request: ", "gate": "gate: ",
        "review": "review of #", "reply": "replies on #", "actions": "GitHub Actions: ",
    }.get(kind, "")  # fmt: skip
    shown.append(prefix + "\n".join(lines[:PROMPT_LINES]) + "\n")
    if len(lines) > PROMPT_LINES:
        shown.append(f"… {len(lines) - PROMPT_LINES} more lines (--json shows all)\n", style="dim")
    return shown


def _one_line(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
