"""What the plans' pages share: rendering with the helpers their templates call, the runners as a
page shows them, a form's refusal in its words, and the digest a polled part is drawn from."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from shipyard.plans.service import PlanService
from shipyard.web.render import page

# How often the changing part of a page asks whether its cluster or job moved on, while it works.
LIVE_EVERY_S: float = 2
# The colour of a cluster's or a job's status: the work orders' badge it looks like.
_TONES = {
    "new": "waiting", "plan_ready": "waiting", "queued": "waiting",
    "planning": "running", "fixing": "running", "running": "running",
    "pr_opened": "completed", "succeeded": "completed", "failed": "failed", "cancelled": "cancelled",
}  # fmt: skip
_FIELDS = {
    "summary": "Summary",
    "hypotheses": "Hypotheses",
    "candidate_files": "Candidate files",
    "validation_steps": "Validation steps",
    "runner": "Runner",
}


def tone(status: str) -> str:
    return _TONES.get(status, "waiting")


def safe_link(url: str | None) -> str | None:
    """`url` when a page may link to it: on the web, or on this server (a local pull request);
    None for anything else a feedback item or a remote runner sent (`javascript:`, say)."""
    if url and url.startswith(("https://", "http://", "/")) and not url.startswith("//"):
        return url
    return None


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    helpers = {"tone": tone, "safe_link": safe_link, "every_s": LIVE_EVERY_S}
    return page(request, name, status_code=status_code, **helpers, **context)


def refusal(err: ValidationError) -> str:
    """The first problem pydantic found, named as the form names it (a list's item by its line)."""
    problem = err.errors()[0]
    loc = problem["loc"]
    where = _FIELDS.get(str(loc[0]), str(loc[0])) if loc else ""
    if len(loc) > 1 and isinstance(loc[1], int):
        where += f", line {loc[1] + 1}"
    return f"{where}: {problem['msg']}" if where else problem["msg"]


def digest(*parts: str) -> str:
    """A short digest of what a part of a page shows: it changes whenever the part would."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def runner_context(plans: PlanService) -> dict[str, Any]:
    """Every runner (the install's default first) and the one jobs get unless asked for another:
    None when SHIPYARD_CODING_AGENT_RUNNER names no runner."""
    runners = plans.runners()
    default = plans.settings.coding_agent_runner
    active = next((r for r in runners if r.default), None)
    return {"runners": runners, "active_runner": active, "default_runner": default}
