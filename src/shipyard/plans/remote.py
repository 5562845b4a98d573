"""The `remote` runner's call out (seed 004's legacy executor in its general form): one signed
HTTP POST hands the job to an outside executor (the job, the cluster, the plan, and a callback URL
with a token scoped to this job); the executor reports back to `POST /api/jobs/{id}/callback`.

The body is signed like GitHub's webhooks: `X-Shipyard-Signature-256: sha256=<HMAC-SHA256 of the
body with the runner's secret>`, so the executor can check it came from here."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx

from shipyard.config import Settings
from shipyard.domain.errors import ShipyardError
from shipyard.domain.tokens import mint_sandbox_token
from shipyard.plans.runners import Runner
from shipyard.store.records import ClusterRecord, JobRecord, PlanRecord

SIGNATURE_HEADER = "X-Shipyard-Signature-256"
_SEND_TIMEOUT_S = 30.0
_TOKEN_SLACK_S = 600  # the callback's token outlives the runner's timeout by this much


def job_token(settings: Settings, job_id: str, timeout_s: float) -> str:
    """A token that lets its holder report on this job, and nothing else, for the job's time."""
    expires_at = datetime.now(UTC) + timedelta(seconds=timeout_s + _TOKEN_SLACK_S)
    return mint_sandbox_token(settings.signing_key(), job_id, expires_at)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def hand_out(
    settings: Settings, runner: Runner, job: JobRecord, cluster: ClusterRecord, plan: PlanRecord
) -> None:
    """POST the job to the runner's executor; ShipyardError saying why when it is not taken (a
    2xx answer)."""
    assert runner.config.url is not None
    payload = {
        "job": {"id": job.id, "runner": runner.name, "plan_version": plan.version},
        "cluster": cluster.model_dump(
            mode="json", include={"id", "title", "summary", "repository_url", "items"}
        ),
        "plan": plan.plan.model_dump(mode="json"),
        "callback": {
            "url": f"{settings.server_url}/api/jobs/{job.id}/callback",
            "token": job_token(settings, job.id, runner.config.timeout_s),
        },
    }
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Shipyard"}
    if runner.config.secret is not None:
        headers[SIGNATURE_HEADER] = signature(runner.config.secret.get_secret_value(), body)
    refused = f"runner {runner.name}: the executor at {runner.config.url} did not take the job"
    try:
        async with httpx.AsyncClient(timeout=_SEND_TIMEOUT_S) as client:
            answer = await client.post(runner.config.url, content=body, headers=headers)
    except httpx.HTTPError as err:
        raise ShipyardError(f"{refused}: could not reach it ({str(err) or type(err).__name__})") from None
    if not answer.is_success:
        raise ShipyardError(f"{refused}: it answered {answer.status_code}")
