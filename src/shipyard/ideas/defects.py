"""The defects a QA round's required CI checks make: read from the QA gate's row (how each check
ended, as the gate heard it) and what each check said of itself on the forge."""

from __future__ import annotations

from typing import Any

from shipyard.domain.work_orders import Step
from shipyard.engine.workflows import PASSING
from shipyard.forge.base import CheckRun


def check_defects(ci: Step, runs: dict[str, CheckRun]) -> list[tuple[str, str]]:
    """(title, body) of a defect for each required check the failed QA gate `ci` did not see pass:
    each that failed, with its link and what it said (`runs`: the forge's, by name); when none had
    failed, the gate gave up waiting: each that never reported."""
    heard = (ci.output_data or {}).get("checks") if isinstance(ci.output_data, dict) else None
    if not isinstance(heard, list):  # the gate failed before it waited: nothing is known of them
        return [("Required checks not verified", f"The QA gate on the required checks failed: {ci.error}")]
    checks = [check for check in heard if isinstance(check, dict)]
    failed = [c for c in checks if c.get("conclusion") is not None and c.get("conclusion") not in PASSING]
    if not failed:
        silent = [str(c.get("name")) for c in checks if c.get("conclusion") is None]
        why = f"It gave no result on the branch's commit while QA waited ({ci.error})."
        return [(f"Required check {name} did not report"[:200], why) for name in silent]
    return [_failed_check(check, runs.get(str(check.get("name")))) for check in failed]


def _failed_check(check: dict[str, Any], ran: CheckRun | None) -> tuple[str, str]:
    name, sha, url = str(check.get("name")), str(check.get("sha") or ""), str(check.get("url") or "")
    url = url or (ran.url if ran else "")
    on = f" on commit {sha[:12]}" if sha else ""
    body = f"The required check `{name}` concluded {check.get('conclusion')}{on}" + (
        f": {url}" if url else "."
    )
    if ran and ran.summary:
        body += f"\n\nWhat it said:\n\n{ran.summary[-3000:]}"
    return f"Required check {name} failed"[:200], body
