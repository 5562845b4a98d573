"""Fetching and pushing over HTTP with a token that shows up nowhere: real git, a real HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fakes.git_http import GitHttpServer
from shipyard.domain.errors import GitError, InvalidInput
from shipyard.gitutil import (
    GitResult,
    add_worktree,
    commit_all,
    default_branch,
    ensure_mirror,
    failure,
    push,
    run_git,
    token_env,
)

Sh = Callable[..., str]
TOKEN = "ghs_CANARY7f3a9c1e5b8d2f4a6c0e9b7d"
WRONG = "ghs_WRONGCANARY2b4d6f8a0c1e3b5d7f"
FAST_S = 30  # far below what a prompt waiting for a terminal would take: forever


@pytest.fixture
def served(git_http: GitHttpServer, origin: Path) -> str:
    """`origin` on the fake forge as acme/widgets, readable and writable with TOKEN."""
    git_http.tokens.add(TOKEN)
    return git_http.add_repo("acme/widgets", origin)


def _descends_from(pid: int, ancestor: int) -> bool:
    """Whether `pid` was started by `ancestor` (or its children): not by another pytest worker's test."""
    while pid > 1:
        if pid == ancestor:
            return True
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return False


@contextlib.contextmanager
def watching_argv(secret: str) -> Iterator[list[str]]:
    """Collects, while the block runs, the command line of every process this test started that
    contains `secret`."""
    seen: list[str] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            # listdir, not glob: glob stats each entry, and a process may end in between.
            for pid in filter(str.isdigit, os.listdir("/proc")):
                with contextlib.suppress(OSError):  # it ended meanwhile
                    text = (
                        Path(f"/proc/{pid}/cmdline")
                        .read_bytes()
                        .replace(b"\0", b" ")
                        .decode(errors="replace")
                    )
                    if secret in text and _descends_from(int(pid), os.getpid()):
                        seen.append(text)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()


def test_token_env_configures_a_scoped_helper_and_nothing_else() -> None:
    env = token_env(TOKEN, "https://bot:old@github.com/acme/widgets.git")
    keys = [env[f"GIT_CONFIG_KEY_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))]
    assert keys == ["credential.helper", "credential.https://github.com.helper", "core.hooksPath"]
    assert env["GIT_CONFIG_VALUE_0"] == ""
    assert [name for name, value in env.items() if TOKEN in value] == ["SHIPYARD_GIT_TOKEN"]
    assert token_env(TOKEN, "http://127.0.0.1:8080/x.git")["GIT_CONFIG_KEY_1"] == (
        "credential.http://127.0.0.1:8080.helper"
    )
    assert token_env(TOKEN, "git@github.com:acme/widgets.git") == {}
    assert token_env(TOKEN, "/srv/repos/widgets") == {}
    with pytest.raises(InvalidInput) as caught:
        token_env(TOKEN + "\nhost=evil.example", "https://github.com/a/b.git")
    assert TOKEN not in caught.value.message


def test_failure_masks_secrets_even_where_stderr_is_cut() -> None:
    stderr = f"fatal: {TOKEN} " + "x" * 3989  # cut to its last 4000 characters: mid-token
    result = GitResult(("push", "origin"), 128, "", stderr)
    error = failure(result, f"cannot push to /srv/{TOKEN}", (TOKEN, None, ""))
    assert TOKEN[-8:] not in error.message
    assert error.message.startswith("cannot push to /srv/***: git push origin failed (exit 128): fatal: ***")


async def test_clone_fetch_and_push_with_a_token(
    served: str, git_http: GitHttpServer, tmp_path: Path, sh: Sh
) -> None:
    mirrors = tmp_path / "mirrors"
    with watching_argv(TOKEN) as seen:
        mirror = await ensure_mirror(served, mirrors, token=TOKEN)
        assert await default_branch(mirror) == "main"
        assert await ensure_mirror(served, mirrors, token=TOKEN) == mirror  # a refresh fetches again

        path = tmp_path / "wt"
        await add_worktree(mirror, path, "wo/1", "refs/remotes/origin/main")
        (path / "new.txt").write_text("new\n")
        first = await commit_all(path, "first", phase="implementing")
        await push(path, served, "wo/1", token=TOKEN)
        await push(path, served, "wo/1", token=TOKEN)  # pushing the same branch again is fine
        (path / "new.txt").write_text("newer\n")
        second = await commit_all(path, "second", phase="implementing")
        await push(path, served, "wo/1", token=TOKEN)
    assert seen == []
    assert first and second and git_http.branches("acme/widgets")["wo/1"] == second
    assert TOKEN not in sh(mirror, "config", "--list") + sh(path, "config", "--list")
    authorized = [r for r in git_http.requests if r.authorized]
    assert authorized and {r.username for r in authorized} == {"x-access-token"}


async def test_run_git_with_token_env_keeps_the_token_out_of_args(served: str) -> None:
    result = await run_git("ls-remote", served, env=token_env(TOKEN, served))
    assert result.ok, result.stderr
    assert "refs/heads/main" in result.stdout
    assert not any(TOKEN in arg for arg in result.args)


@pytest.mark.parametrize("token", [None, WRONG])
async def test_without_the_right_token_fails_fast_and_says_nothing_secret(
    served: str, git_http: GitHttpServer, origin: Path, tmp_path: Path, sh: Sh, token: str | None
) -> None:
    with pytest.raises(GitError) as caught:
        async with asyncio.timeout(FAST_S):
            await ensure_mirror(served, tmp_path / "mirrors", token=token)
    assert "cannot clone repository http://127.0.0.1" in caught.value.message
    assert TOKEN not in caught.value.message and WRONG not in caught.value.message

    sh(origin, "branch", "wo/denied")
    with pytest.raises(GitError) as caught:
        async with asyncio.timeout(FAST_S):
            await push(origin, served, "wo/denied", token=token)
    assert "cannot push branch 'wo/denied'" in caught.value.message
    assert WRONG not in caught.value.message
    assert "wo/denied" not in git_http.branches("acme/widgets")
    assert git_http.requests and not any(r.authorized for r in git_http.requests)


async def test_a_token_git_echoes_is_masked(git_http: GitHttpServer, origin: Path) -> None:
    git_http.tokens.add(TOKEN)
    echoing = git_http.url(f"acme/{TOKEN}")  # no such repository: git names the URL in its error
    with pytest.raises(GitError) as caught:
        await push(origin, echoing, "main", token=TOKEN)
    assert "***" in caught.value.message
    assert TOKEN not in caught.value.message


async def test_user_config_and_environment_cannot_override_the_token(
    served: str,
    git_http: GitHttpServer,
    origin: Path,
    tmp_path: Path,
    sh: Sh,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong_helper = f"!f() {{ echo username=intruder; echo password={WRONG}; }}; f"
    global_config = tmp_path / "gitconfig"
    global_config.write_text(f'[credential]\n\thelper = "{wrong_helper}"\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "credential.helper")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", wrong_helper)
    monkeypatch.setenv("GIT_CONFIG_KEY_1", "credential.helper")
    monkeypatch.setenv("GIT_CONFIG_VALUE_1", wrong_helper)

    sh(origin, "branch", "wo/mine")
    with pytest.raises(GitError):  # the user's helpers are live: without a token they answer
        await push(origin, served, "wo/mine")
    assert "intruder" in {r.username for r in git_http.requests}
    git_http.requests.clear()

    await push(origin, served, "wo/mine", token=TOKEN)
    assert {r.username for r in git_http.requests if r.username} == {"x-access-token"}
    assert "wo/mine" in git_http.branches("acme/widgets")


async def test_the_token_goes_only_to_its_own_host(
    served: str, git_http: GitHttpServer, origin: Path, tmp_path: Path, sh: Sh
) -> None:
    with GitHttpServer(tmp_path / "elsewhere", tokens={TOKEN}) as elsewhere:
        decoy = elsewhere.add_repo("acme/widgets")
        # A repository-controlled rewrite of the URL must not carry the token to another host.
        sh(origin, "config", f"url.{decoy}.insteadOf", served)
        with pytest.raises(GitError):
            await push(origin, served, "main", token=TOKEN)
        assert elsewhere.requests and not any(r.username for r in elsewhere.requests)
    assert git_http.requests == []


async def test_no_hook_runs_while_the_token_is_in_the_environment(
    served: str, origin: Path, tmp_path: Path, sh: Sh
) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    leak = tmp_path / "leaked"
    (hooks / "pre-push").write_text(f'#!/bin/sh\necho "$SHIPYARD_GIT_TOKEN" > {leak}\n')
    (hooks / "pre-push").chmod(0o755)
    sh(origin, "config", "core.hooksPath", str(hooks))
    sh(origin, "branch", "wo/hooked")

    await push(origin, served, "wo/hooked", token=TOKEN)
    assert not leak.exists()
    local = tmp_path / "local.git"
    sh(tmp_path, "init", "--quiet", "--bare", str(local))
    await push(origin, str(local), "wo/hooked")  # without a token, hooks run as ever
    assert leak.exists()


async def test_large_fetch_requests_arrive_gzipped_and_are_served(
    git_http: GitHttpServer, origin: Path, tmp_path: Path, sh: Sh
) -> None:
    for index in range(40):  # many distinct tips make the fetch request large enough to compress
        sh(origin, "commit", "--quiet", "--allow-empty", "-m", f"tip {index}")
        sh(origin, "branch", f"tip-{index}")
    git_http.tokens.add(TOKEN)
    url = git_http.add_repo("acme/many", origin)

    mirror = await ensure_mirror(url, tmp_path / "mirrors", token=TOKEN)
    assert len(sh(mirror, "for-each-ref", "refs/remotes/origin/").splitlines()) == 42
    assert any(r.gzip and r.authorized for r in git_http.requests)
