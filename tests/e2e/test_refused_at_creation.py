"""Requests the engine could not run are refused at creation (422) and nothing is recorded: a
sandbox that cannot run here, a base branch the repository does not have, a home directory
nobody has."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from shipyard.config import Settings
from support import MakeRepo, MakeSettings


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path) -> Settings:
    return make_settings(
        bwrap_binary=str(tmp_path / "no-bwrap"), docker_host=f"unix://{tmp_path / 'none.sock'}"
    )


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"sandbox_type": "bwrap"}, "sandbox 'bwrap' is not available here: {tmp}/no-bwrap not installed"
         " (Debian: apt-get install bubblewrap)"),
        ({"sandbox_type": "docker"}, "sandbox 'docker' is not available here: no Docker engine answers"
         " at unix://{tmp}/none.sock"),
        ({"base_branch": "nope"}, "base branch 'nope' does not exist in {repo}; existing branches: main"),
        ({"base_branch": "a..b"}, "base_branch 'a..b' is not a valid branch name"),
        ({"repository_url": "~no-such-user-here/app"},
         "'~no-such-user-here/app': no home directory is known for '~no-such-user-here'"),
    ],
)  # fmt: skip
async def test_refused_with_the_reason_and_nothing_recorded(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path, fields: dict[str, str], said: str
) -> None:
    repo = make_repo()
    body = {"repository_url": str(repo), "workflow_type": "x", **fields}
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["message"] == said.format(tmp=tmp_path, repo=repo)
    assert (await api.get("/api/agent-work-orders")).json()["total_count"] == 0
