"""What the idea pages share: the helpers their templates call, rendering, a form's refusal in
its words, and everything a run's page draws (the run, its tree, timeline and chat)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from shipyard.domain.models import StepStatus
from shipyard.engine.workflows import FAILING, PASSING
from shipyard.forge.registry import issue_url
from shipyard.ideas import run_view
from shipyard.ideas.chat import ChatMessage, ChatService, command_usage
from shipyard.ideas.models import IssueView, RunView
from shipyard.ideas.service import IdeaService
from shipyard.store.store import Store
from shipyard.web.render import page

# How often an open run page's chat asks whether it moved on (an agent's answer is no run event).
LIVE_EVERY_S = 2
# The colour of a state or status: the work orders' badge it looks like.
_TONES = {
    "DONE": "completed", "FAILED": "failed", "CANCELLED": "cancelled", "BLOCKED": "paused",
    "IDEA_SUBMITTED": "waiting", "NEW": "waiting",
}  # fmt: skip
_FIELDS = {
    "ideaText": "idea",
    "repo": "repository",
    "options.size": "size",
    "reason": "reason",
    "text": "message",
}


def tone(status: str) -> str:
    """The badge colour of a run's state or an issue's status (working: `running`)."""
    return _TONES.get(status, "running")


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    helpers = {"tone": tone, "first_line": first_line, "link": run_view.link}
    return page(request, name, status_code=status_code, **helpers, **context)


def refusal(err: ValidationError) -> str:
    """The first problem pydantic found, named as the form names it."""
    problem = err.errors()[0]
    where = _FIELDS.get(".".join(str(p) for p in problem["loc"]), "")
    return f"{where}: {problem['msg']}" if where else problem["msg"]


def digest(*parts: str) -> str:
    """A short digest of what a part of a page shows: it changes whenever the part would."""
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def version(run: RunView, tree: list[IssueView]) -> str:
    return digest(run.model_dump_json(), *(issue.model_dump_json() for issue in tree))


async def run_context(ideas: IdeaService, run_id: str) -> dict[str, Any]:
    """Everything the changing part of a run's page draws, and the digest it is drawn from."""
    run = await ideas.view(run_id)
    tree = await ideas.tree(run_id)
    entries = run_view.timeline(run)
    nodes = run_view.nodes(run, tree, entries, lambda number: issue_url(run.forge, run.repo, number))
    ci = await ci_badges(ideas.store, entries)
    return {
        "run": run, "tree": tree, "chips": run_view.state_chips(run), "entries": entries, "nodes": nodes,
        "ci": ci, "live": not run.state.is_terminal, "version": version(run, tree) + digest(repr(ci)),
        "every_s": LIVE_EVERY_S, "error": None, "done": None, "tab": "run",
    }  # fmt: skip


async def ci_badges(store: Store, entries: list[run_view.Entry]) -> dict[int, tuple[str, str]]:
    """Each task's required CI checks as its last QA round's `ci` gate saw them: (the badge's
    text, its colour); tasks whose QA waited for no check have none."""
    last_qa = {
        e.issue_id: e.work_order_id for e in entries
        if e.issue_id is not None and e.work_order_id and e.event.data.get("work") == "qa"
    }  # fmt: skip
    found = {}
    for issue_id, work_order_id in last_qa.items():
        gate = next((s for s in await store.list_steps(work_order_id) if s.step_id == "ci"), None)
        checks = (
            (gate.output_data or {}).get("checks") if gate and isinstance(gate.output_data, dict) else None
        )
        if gate is None or gate.status == StepStatus.SKIPPED or not checks:
            continue
        conclusions = [c.get("conclusion") for c in checks if isinstance(c, dict)]
        if any(c in FAILING for c in conclusions):
            found[issue_id] = ("CI failing", "failed")
        elif conclusions and all(c in PASSING for c in conclusions):
            found[issue_id] = ("CI passing", "completed")
        else:
            found[issue_id] = ("CI pending", "running")
    return found


async def chat_context(
    ideas: IdeaService, run_id: str, text: str = "", error: str | None = None
) -> dict[str, Any]:
    """The chat beside the run: its messages, what the form holds, why it was refused."""
    messages: list[ChatMessage] = await ChatService(ideas).history(run_id)
    run = await ideas.get(run_id)
    seen = digest(*(m.model_dump_json() for m in messages))
    return {
        "messages": messages, "chat_seen": seen, "chat_live": not run.state.is_terminal,
        "chat_text": text, "chat_error": error, "commands": command_usage(), "run_id": run_id,
        "every_s": LIVE_EVERY_S, "chat_focus": False,
    }  # fmt: skip
