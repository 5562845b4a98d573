"""What the seed-004 fix tests share: a plan for the rude greeting of a repository's greet.py and a
person's edit of it, the cluster of feedback about it on the fake GitHub, and waiting on the API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from forge_kit import REPO, GitHub

PLAN = {
    "summary": "The greeting is rude.",
    "hypotheses": ["greet.py says 'go away'"],
    "candidate_files": ["greet.py"],
    # The second fails on a cluster called "Doomed …" (its commits say so): a fix whose validation fails.
    "validation_steps": ["grep -q hello greet.py", "! git log --format=%s | grep -q Doomed"],
}
EDITED = {
    **PLAN,
    "summary": "Make the greeting say hello.",
    "validation_steps": ["grep -q hello greet.py", "true"],
}
ENDED = {"succeeded", "failed", "cancelled"}  # a job's last statuses


def cluster_body(github: GitHub, **extra: Any) -> dict[str, Any]:
    """Three pieces of feedback about the greeting, from three places."""
    items = [
        {
            "source": "github",
            "text": "The app told me to go away",
            "url": f"https://github.com/{REPO}/issues/7",
        },
        {"source": "email", "text": "Rude greeting on start", "repo": f"https://github.com/{REPO}"},
        {"source": "slack", "text": "why is it so rude?"},
    ]
    return {"title": "Rude greeting", "summary": "Users find the greeting rude.", "items": items, **extra}


async def until(
    api: httpx.AsyncClient, url: str, field: str, values: set[str], timeout_s: float = 120
) -> Any:
    """Poll `url` until its `field` is one of `values`; its JSON."""
    async with asyncio.timeout(timeout_s):
        while (body := (await api.get(url)).json())[field] not in values:
            await asyncio.sleep(0.2)
    return body


async def new_cluster(api: httpx.AsyncClient, github: GitHub, title: str = "Rude greeting") -> dict[str, Any]:
    """The cluster of `cluster_body`, in a project on `github`'s repository."""
    project = await api.post(
        "/api/projects", json={"name": "widgets", "repository_url": github.url, "forge": "github"}
    )
    assert project.status_code == 201, project.text
    made = await api.post("/api/clusters", json=cluster_body(github, project="widgets", title=title))
    assert made.status_code == 201, made.text
    cluster: dict[str, Any] = made.json()
    return cluster


def commits(github: GitHub, branch: str) -> list[str]:
    """The subjects of `branch`'s commits past main, newest first."""
    return github.git_out("log", "--format=%s", f"main..{branch}").splitlines()
