"""Releases: on the `local` forge an annotated tag in a real repository, on `github` a release on
the fake GitHub over HTTP; both at the branch's tip, both found again rather than made twice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from githubkit import GitHub

from fakes.github_api import FakeGitHub
from fakes.github_git import commit_sha
from forge_kit import REPO, TOKEN
from shipyard.config import Settings
from shipyard.domain.errors import Conflict, InvalidInput, NotFound
from shipyard.forge.base import Forge
from shipyard.forge.github import GitHubFailed
from shipyard.forge.models import ReleaseInfo
from shipyard.forge.registry import forge_for
from support import MakeRepo, git

NOTES = "## Changes\n\n- Widgets are parsed.\n- # signs survive.\n"


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    """`main` and, a commit further, `feature`; nothing checked out."""
    path = make_repo("widgets")
    git(path, "switch", "-q", "-c", "feature")
    (path / "feature.txt").write_text("new\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "feature")
    git(path, "switch", "-q", "--detach", "main")
    return path


def rev(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", ref).strip()


async def test_a_local_release_is_an_annotated_tag_at_the_branch_tip(settings: Settings, repo: Path) -> None:
    forge = forge_for("local", settings, str(repo))
    main = rev(repo, "main")
    made = await forge.create_release("v1.0.0", "feature", "Widgets 1.0", NOTES)
    assert made == ReleaseInfo(tag="v1.0.0", name="Widgets 1.0", sha=rev(repo, "feature"), url="")
    assert git(repo, "cat-file", "-t", "v1.0.0").strip() == "tag"
    assert rev(repo, "v1.0.0^{commit}") == made.sha
    contents = git(repo, "for-each-ref", "--format=%(contents)", "refs/tags/v1.0.0")
    assert contents == f"Widgets 1.0\n\n{NOTES}\n"  # for-each-ref ends what it prints with a newline
    tag_object = rev(repo, "v1.0.0")
    assert rev(repo, "HEAD") == main and git(repo, "status", "--porcelain") == ""  # nothing checked out

    assert await forge.create_release("v1.0.0", "feature", "Widgets 1.0", NOTES) == made
    assert rev(repo, "v1.0.0") == tag_object  # the same tag object: nothing made again


async def test_a_local_tag_on_another_commit_or_a_missing_branch_is_refused(
    settings: Settings, repo: Path
) -> None:
    forge = forge_for("local", settings, str(repo))
    git(repo, "tag", "v2.0.0", "main")
    main, feature = rev(repo, "main"), rev(repo, "feature")
    with pytest.raises(Conflict) as refused:
        await forge.create_release("v2.0.0", "feature", "Widgets 2.0", NOTES)
    assert "tag v2.0.0" in refused.value.message
    assert main in refused.value.message and feature in refused.value.message
    assert rev(repo, "v2.0.0") == main

    with pytest.raises(NotFound, match="branch no-such-branch does not exist"):
        await forge.create_release("v3.0.0", "no-such-branch", "Widgets 3.0", NOTES)
    with pytest.raises(InvalidInput, match="not a valid tag name"):
        await forge.create_release("-v3", "main", "Widgets 3.0", NOTES)
    assert git(repo, "tag", "--list").split() == ["v2.0.0"]


def calls(github: FakeGitHub, method: str, path: str) -> list[dict[str, object]]:
    return [json.loads(c.body or b"{}") for c in github.received if (c.method, c.path) == (method, path)]


def add_branch(github: FakeGitHub, branch: str) -> str:
    sha = commit_sha(REPO, branch)
    github.repo(REPO).refs[f"refs/heads/{branch}"] = sha
    return sha


async def test_a_github_release_tags_the_branch_tip(forge: Forge, github: FakeGitHub) -> None:
    sha = add_branch(github, "release/1.0")
    made = await forge.create_release("v1.0.0", "release/1.0", "Widgets 1.0", NOTES)
    url = f"https://github.com/{REPO}/releases/tag/v1.0.0"
    assert made == ReleaseInfo(tag="v1.0.0", name="Widgets 1.0", sha=sha, url=url)
    assert calls(github, "POST", f"/repos/{REPO}/releases") == [
        {"tag_name": "v1.0.0", "target_commitish": sha, "name": "Widgets 1.0", "body": NOTES}
    ]
    [release] = github.releases(REPO)
    assert (release.tag_name, release.name, release.body, release.draft) == (
        "v1.0.0",
        "Widgets 1.0",
        NOTES,
        False,
    )
    assert github.repo(REPO).refs["refs/tags/v1.0.0"] == sha

    # The fake answers in GitHub's full shape: githubkit's own schema takes it.
    async with GitHub(TOKEN, base_url=github.base_url) as client:
        answer = await client.rest.repos.async_get_release_by_tag("acme", "widgets", "v1.0.0")
    assert answer.parsed_data.target_commitish == sha and answer.parsed_data.author.login == github.login

    with pytest.raises(GitHubFailed, match="branch no-such-branch of acme/widgets was not found") as caught:
        await forge.create_release("v9", "no-such-branch", "Widgets 9", NOTES)
    assert caught.value.status == 404 and len(github.releases(REPO)) == 1


async def test_a_second_github_release_of_a_tag_returns_the_first(forge: Forge, github: FakeGitHub) -> None:
    first = await forge.create_release("v1.0.0", "main", "Widgets 1.0", NOTES)
    again = await forge.create_release("v1.0.0", "main", "Widgets 1.0", NOTES)
    assert again == first and len(github.releases(REPO)) == 1
    assert len(calls(github, "POST", f"/repos/{REPO}/releases")) == 2  # the second answered 422
    assert len(calls(github, "GET", f"/repos/{REPO}/releases/tags/v1.0.0")) == 1

    # Someone's release of the branch by name, on the same commit: it is the one, its name kept.
    async with GitHub(TOKEN, base_url=github.base_url) as client:
        await client.rest.repos.async_create_release(
            "acme", "widgets", tag_name="v1.1.0", target_commitish="main", name="Widgets 1.1 by hand"
        )
    found = await forge.create_release("v1.1.0", "main", "Widgets 1.1", NOTES)
    assert (found.name, found.sha) == ("Widgets 1.1 by hand", commit_sha(REPO))
    assert len(github.releases(REPO)) == 2


async def test_a_github_tag_pushed_on_the_branch_tip_gets_its_release(
    forge: Forge, github: FakeGitHub
) -> None:
    github.add_tag(REPO, "v1.0.0", commit_sha(REPO), message="annotated, pushed by someone")
    made = await forge.create_release("v1.0.0", "main", "Widgets 1.0", NOTES)
    assert (made.name, made.sha) == ("Widgets 1.0", commit_sha(REPO))
    assert [r.tag_name for r in github.releases(REPO)] == ["v1.0.0"]
    async with GitHub(TOKEN, base_url=github.base_url) as client:
        tag_object = github.repo(REPO).refs["refs/tags/v1.0.0"]
        answer = await client.rest.git.async_get_tag("acme", "widgets", tag_object)
    assert answer.parsed_data.object_.sha == commit_sha(REPO)  # the fake's tag in GitHub's full shape


async def test_a_github_tag_on_another_commit_is_refused_naming_both(
    forge: Forge, github: FakeGitHub
) -> None:
    main, old = commit_sha(REPO), add_branch(github, "old")
    github.add_tag(REPO, "v1.0.0", old)
    github.add_tag(REPO, "v1.1.0", old, message="annotated, pushed by someone")
    for tag in ("v1.0.0", "v1.1.0"):
        with pytest.raises(Conflict) as refused:
            await forge.create_release(tag, "main", "Widgets", NOTES)
        assert f"tag {tag}" in refused.value.message
        assert main in refused.value.message and old in refused.value.message
    assert github.releases(REPO) == [] and calls(github, "POST", f"/repos/{REPO}/releases") == []


async def test_a_release_made_meanwhile_on_another_commit_is_refused(
    forge: Forge, github: FakeGitHub
) -> None:
    """Someone publishes the tag between Shipyard's look and its create: GitHub's 422, then the tag."""
    old = add_branch(github, "old")
    held = github.hold("POST", f"/repos/{REPO}/releases")
    creating = asyncio.create_task(forge.create_release("v1.0.0", "main", "Widgets 1.0", NOTES))
    await held.reached.wait()
    async with GitHub(TOKEN, base_url=github.base_url) as client:
        github.holds.clear()
        await client.rest.repos.async_create_release(
            "acme", "widgets", tag_name="v1.0.0", target_commitish="old"
        )
    held.released.set()
    with pytest.raises(Conflict, match=f"on commit {old}, not on {commit_sha(REPO)}"):
        await creating
    assert [r.target_commitish for r in github.releases(REPO)] == ["old"]


async def test_github_answers_lacking_unused_fields_are_read(forge: Forge, github: FakeGitHub) -> None:
    github.left_out = {"name", "body", "author", "assets", "upload_url", "target_commitish", "node_id", "url"}
    made = await forge.create_release("v1.0.0", "main", "Widgets 1.0", NOTES)
    assert made == ReleaseInfo(
        tag="v1.0.0",
        name="v1.0.0",
        sha=commit_sha(REPO),
        url=f"https://github.com/{REPO}/releases/tag/v1.0.0",
    )  # without a name, a release is shown by its tag
    assert await forge.create_release("v1.0.0", "main", "Widgets 1.0", NOTES) == made
