"""Webhook acknowledgement: signed GitHub deliveries → `202` (signature checked, delivery stored
before the answer, processed after it), one client at a time and 20 at once; redeliveries → `200`;
how long until the burst of 20 at once is all processed."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from bench.harness import serve, summary
from shipyard.triggers.github import sign

SECRET = "bench-webhook-secret"
CONCURRENCY = 20


def _payload() -> bytes:
    """A push of ten commits, about the size GitHub sends for one (repository unknown to us)."""
    commits = [
        {"id": uuid.uuid4().hex + "00000000", "message": f"change {n}", "added": [f"src/f{n}.py"],
         "removed": [], "modified": ["README.md"], "author": {"name": "Mona", "email": "m@example.com"}}
        for n in range(10)
    ]  # fmt: skip
    body = {
        "ref": "refs/heads/main", "before": "a" * 40, "after": "b" * 40, "commits": commits,
        "repository": {"full_name": "bench/unwatched", "default_branch": "main"},
        "sender": {"login": "mona", "type": "User"},
    }  # fmt: skip
    return json.dumps(body).encode()


async def _deliver(http: httpx.AsyncClient, body: bytes, delivery: str) -> tuple[float, int]:
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
    }
    started = time.monotonic()
    resp = await http.post("/api/webhooks/github", content=body, headers=headers)
    return time.monotonic() - started, resp.status_code


async def run(quick: bool) -> dict[str, Any]:
    sequential, burst = (50, 200) if quick else (200, 1000)
    body = _payload()
    async with (
        serve(SHIPYARD_GITHUB_WEBHOOK_SECRET=SECRET) as server,
        httpx.AsyncClient(base_url=server.url, timeout=60) as http,
    ):
        one = [await _deliver(http, body, str(uuid.uuid4())) for _ in range(sequential)]
        duplicate_id = str(uuid.uuid4())
        await _deliver(http, body, duplicate_id)
        duplicates = [await _deliver(http, body, duplicate_id) for _ in range(sequential // 2)]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def limited() -> tuple[float, int]:
            async with gate:
                return await _deliver(http, body, str(uuid.uuid4()))

        started = time.monotonic()
        many = await asyncio.gather(*(limited() for _ in range(burst)))
        elapsed = time.monotonic() - started
        await _all_processed(http)
        processed = time.monotonic() - started
    failed = sum(1 for _, status in [*one, *many] if status != 202)
    return {
        "ack_1_client": summary([t for t, _ in one]),
        "ack_redelivery": summary([t for t, _ in duplicates]),
        f"ack_{CONCURRENCY}_clients": {
            **summary([t for t, _ in many]),
            "deliveries_per_s": round(burst / elapsed, 1),
            "not_202": failed,
            "body_bytes": len(body),
            # From the burst's first delivery until every delivery stored is processed (these,
            # for a repository no project watches, are each recorded `ignored`).
            "all_processed_s": round(processed, 2),
        },
    }


async def _all_processed(http: httpx.AsyncClient) -> None:
    for _ in range(6000):
        pending = [
            (await http.get("/api/webhooks/deliveries", params={"status": status, "limit": 1})).json()
            for status in ("received", "processing")
        ]
        if not any(page["deliveries"] for page in pending):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("deliveries still unprocessed after 5 minutes")
