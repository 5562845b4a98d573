"""A request checked before anything is recorded: a sandbox that cannot run here and a base branch
the repository cannot have are refused, saying what to do (tests/e2e/test_refused_at_creation.py
shows the API's 422)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.domain.models import CreateWorkOrderRequest
from shipyard.service.requests import check_request
from shipyard.store.store import Store
from support import MakeRepo, MakeSettings, git


def request(repo: Path | str, **fields: object) -> CreateWorkOrderRequest:
    return CreateWorkOrderRequest.model_validate(
        {"repository_url": str(repo), "workflow_type": "agent_workflow_plan_build_test", **fields}
    )


async def refusal(settings: Settings, req: CreateWorkOrderRequest) -> str:
    store = await Store.open(settings.resolved_database_url)
    try:
        with pytest.raises(InvalidInput) as caught:
            await check_request(settings, store, req)
    finally:
        await store.close()
    return caught.value.message


async def test_bwrap_not_installed_is_refused_naming_the_package(
    make_settings: MakeSettings, make_repo: MakeRepo, tmp_path: Path
) -> None:
    settings = make_settings(bwrap_binary=str(tmp_path / "no-bwrap"))
    message = await refusal(settings, request(make_repo(), sandbox_type="bwrap"))
    assert message.startswith("sandbox 'bwrap' is not available here: ")
    assert "apt-get install bubblewrap" in message


@pytest.mark.parametrize(
    ("base", "said"),
    [
        ("nope", "base branch 'nope' does not exist in {repo}; existing branches: develop, main"),
        ("bad..name", "base_branch 'bad..name' is not a valid branch name"),
        ("-x", "base_branch '-x' is not a valid branch name"),
        ("a b", "base_branch 'a b' is not a valid branch name"),
    ],
)
async def test_a_base_branch_the_repository_cannot_have_is_refused(
    settings: Settings, make_repo: MakeRepo, base: str, said: str
) -> None:
    repo = make_repo()
    git(repo, "branch", "develop")
    assert await refusal(settings, request(repo, base_branch=base)) == said.format(repo=repo)


async def test_a_remote_base_branch_is_only_checked_for_its_name(settings: Settings) -> None:
    remote = "https://example.invalid/acme/widgets.git"
    assert "valid branch name" in await refusal(settings, request(remote, base_branch="x~1", forge="local"))


async def test_an_existing_base_branch_passes(settings: Settings, make_repo: MakeRepo) -> None:
    repo = make_repo()
    git(repo, "branch", "release/1.x")
    store = await Store.open(settings.resolved_database_url)
    try:
        checked = await check_request(
            settings, store, request(repo, base_branch="release/1.x", initial_prompt="go")
        )
    finally:
        await store.close()
    assert checked.repository_url == str(repo)
