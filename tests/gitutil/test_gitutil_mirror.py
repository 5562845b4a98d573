"""The mirror cache and its worktrees, against real repositories."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fakes.git_http import GitHttpServer
from shipyard.domain.errors import GitError
from shipyard.gitutil import (
    add_worktree,
    commit_all,
    default_branch,
    ensure_mirror,
    head_branch,
    mirror_path,
    push,
    remove_worktree,
    worktrees,
)

Sh = Callable[..., str]


async def test_mirror_is_a_bare_clone_with_origin_branches(origin: Path, tmp_path: Path, sh: Sh) -> None:
    mirror = await ensure_mirror(str(origin), tmp_path / "mirrors")
    assert mirror.parent == tmp_path / "mirrors"
    assert mirror.name.endswith("-origin.git")
    assert sh(mirror, "rev-parse", "--is-bare-repository").strip() == "true"
    remote = sh(mirror, "for-each-ref", "--format=%(refname)", "refs/remotes/origin/")
    assert remote.split() == ["refs/remotes/origin/develop", "refs/remotes/origin/main"]
    origin_main = sh(origin, "rev-parse", "main").strip()
    assert sh(mirror, "rev-parse", "refs/remotes/origin/main").strip() == origin_main


async def test_refresh_fetches_prunes_and_keeps_our_branches(origin: Path, tmp_path: Path, sh: Sh) -> None:
    mirrors = tmp_path / "mirrors"
    mirror = await ensure_mirror(str(origin), mirrors)
    sh(mirror, "branch", "wo/wo-00000001", "refs/remotes/origin/main")
    (origin / "new.txt").write_text("new\n")
    sh(origin, "add", "-A")
    sh(origin, "commit", "--quiet", "-m", "newer")
    sh(origin, "branch", "-D", "develop")

    assert await ensure_mirror(str(origin), mirrors) == mirror
    assert sh(mirror, "log", "-1", "--format=%s", "refs/remotes/origin/main").strip() == "newer"
    remote = sh(mirror, "for-each-ref", "--format=%(refname)", "refs/remotes/origin/")
    assert remote.split() == ["refs/remotes/origin/main"]
    assert sh(mirror, "rev-parse", "--verify", "refs/heads/wo/wo-00000001")


async def test_file_url_and_path_both_work(origin: Path, tmp_path: Path, sh: Sh) -> None:
    mirror = await ensure_mirror(origin.as_uri(), tmp_path / "mirrors")
    assert (
        sh(mirror, "rev-parse", "refs/remotes/origin/main").strip() == sh(origin, "rev-parse", "main").strip()
    )


async def test_bare_origin_works(origin: Path, tmp_path: Path, sh: Sh) -> None:
    sh(tmp_path, "clone", "--quiet", "--bare", str(origin), "bare.git")
    mirror = await ensure_mirror(str(tmp_path / "bare.git"), tmp_path / "mirrors")
    assert mirror.name.endswith("-bare.git")
    assert await default_branch(mirror) == "main"


def test_mirror_path_ignores_credentials_and_is_readable(tmp_path: Path) -> None:
    first = mirror_path("https://user:token1@example.test/org/widgets.git", tmp_path)
    second = mirror_path("https://user:token2@example.test/org/widgets.git", tmp_path)
    other = mirror_path("https://example.test/other/widgets.git", tmp_path)
    assert first == second != other
    assert first.name.endswith("-widgets.git")
    assert "token" not in first.name
    assert mirror_path("git@example.test:org/gadgets.git", tmp_path).name.endswith("-gadgets.git")


async def test_missing_repository_names_the_url(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    with pytest.raises(GitError) as caught:
        await ensure_mirror(str(missing), tmp_path / "mirrors")
    assert f"cannot clone repository {missing}" in caught.value.message
    assert "does not exist" in caught.value.message
    assert [p.name for p in (tmp_path / "mirrors").iterdir()] == [
        f"{mirror_path(str(missing), tmp_path / 'mirrors').name}.lock"
    ]


async def test_default_branch_follows_origin_head(
    new_origin: Callable[..., Path], tmp_path: Path, sh: Sh
) -> None:
    trunk = new_origin("trunky", branch="trunk")
    assert await default_branch(await ensure_mirror(str(trunk), tmp_path / "m")) == "trunk"
    # A HEAD that names no branch falls back to main.
    sh(trunk, "branch", "main")
    sh(trunk, "symbolic-ref", "HEAD", "refs/heads/gone")
    fresh = await ensure_mirror(str(trunk), tmp_path / "m2")
    assert await default_branch(fresh) == "main"


async def test_head_branch_as_git_says_from_the_file_or_from_git(
    origin: Path, tmp_path: Path, sh: Sh
) -> None:
    mirror = await ensure_mirror(str(origin), tmp_path / "mirrors")
    assert await head_branch(mirror) == "main"  # a bare clone's HEAD file
    assert await head_branch(origin) == sh(origin, "symbolic-ref", "--short", "HEAD").strip()  # .git/HEAD
    worktree = tmp_path / "sandboxes" / "wo-1"
    await add_worktree(mirror, worktree, "wo/one", "refs/remotes/origin/main")
    assert await head_branch(worktree) == "wo/one"  # `.git` is a file here: git is asked
    sh(worktree, "checkout", "--quiet", "--detach")
    assert await head_branch(worktree) is None
    sh(origin, "checkout", "--quiet", "--detach")
    assert await head_branch(origin) is None


async def test_worktree_add_retry_and_remove(origin: Path, tmp_path: Path, sh: Sh) -> None:
    mirror = await ensure_mirror(str(origin), tmp_path / "mirrors")
    path = tmp_path / "sandboxes" / "wo-1"
    base = await add_worktree(mirror, path, "wo/one", "refs/remotes/origin/main")
    assert base == sh(origin, "rev-parse", "main").strip()
    assert sh(path, "symbolic-ref", "--short", "HEAD").strip() == "wo/one"
    assert (path / "app.py").read_text() == "print('hello')\n"
    # No upstream: a stray `git push` in the sandbox must not target origin's main.
    assert not sh(path, "for-each-ref", "--format=%(upstream)", "refs/heads/wo/one").strip()

    assert await add_worktree(mirror, path, "wo/one", "refs/remotes/origin/main") == base
    await remove_worktree(mirror, path)
    assert not path.exists()
    assert await worktrees(mirror) == {}
    assert sh(mirror, "rev-parse", "--verify", "refs/heads/wo/one")  # the branch stays
    await remove_worktree(mirror, path)  # twice is fine

    # After cleanup the kept branch can be checked out again, base unchanged.
    assert await add_worktree(mirror, path, "wo/one", "refs/remotes/origin/main") == base
    # A worktree directory lost behind git's back is recreated on the next add.
    shutil.rmtree(path)
    assert await add_worktree(mirror, path, "wo/one", "refs/remotes/origin/main") == base
    assert (path / "app.py").is_file()
    await remove_worktree(mirror, path)


async def test_worktree_of_unknown_ref_fails(origin: Path, tmp_path: Path) -> None:
    mirror = await ensure_mirror(str(origin), tmp_path / "mirrors")
    with pytest.raises(GitError, match="unknown ref 'refs/remotes/origin/nope'"):
        await add_worktree(mirror, tmp_path / "wt", "wo/x", "refs/remotes/origin/nope")


async def test_remove_worktree_when_mirror_is_gone(tmp_path: Path) -> None:
    await remove_worktree(tmp_path / "no-mirror.git", tmp_path / "no-tree")


_WORKER = """
import asyncio, sys, time
from pathlib import Path
from shipyard.gitutil import add_worktree, ensure_mirror

async def main(origin, mirrors, path, branch, go):
    print("ready", flush=True)
    while not Path(go).exists():  # start together, to make the race likely
        time.sleep(0.005)
    mirror = await ensure_mirror(origin, Path(mirrors))
    print(await add_worktree(mirror, Path(path), branch, "refs/remotes/origin/main"))

asyncio.run(main(*sys.argv[1:]))
"""


async def test_two_processes_share_one_mirror(origin: Path, tmp_path: Path, sh: Sh) -> None:
    mirrors, go = tmp_path / "mirrors", tmp_path / "go"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WORKER,
            str(origin),
            str(mirrors),
            str(tmp_path / f"wt{n}"),
            f"wo/proc-{n}",
            str(go),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in (1, 2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert await proc.stdout.readline() == b"ready\n"
    go.touch()
    main_sha = sh(origin, "rev-parse", "main").strip()
    for proc in procs:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == main_sha
    mirror = mirror_path(str(origin), mirrors)
    assert set((await worktrees(mirror)).values()) == {"wo/proc-1", "wo/proc-2"}
    assert len([p for p in mirrors.iterdir() if p.suffix == ".git"]) == 1


_HOLDER = """
import fcntl, sys
with open(sys.argv[1], "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.readline()
"""


async def test_cancelled_waiter_does_not_keep_the_lock(origin: Path, tmp_path: Path) -> None:
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    lock = mirrors / f"{mirror_path(str(origin), mirrors).name}.lock"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, str(lock),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    assert await holder.stdout.readline() == b"locked\n"

    waiting = asyncio.create_task(ensure_mirror(str(origin), mirrors))
    await asyncio.sleep(0.3)  # let it block on the other process's lock
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    holder.stdin.write(b"\n")
    await holder.wait()

    mirror = await asyncio.wait_for(ensure_mirror(str(origin), mirrors), 30)
    assert mirror == mirror_path(str(origin), mirrors)


async def test_https_style_credentials_stay_out_of_config(http_origin: str, tmp_path: Path, sh: Sh) -> None:
    mirrors = tmp_path / "mirrors"
    mirror = await ensure_mirror(http_origin, mirrors)
    assert await default_branch(mirror) == "main"
    assert "tok3n" not in (mirror / "config").read_text()
    assert sh(mirror, "config", "remote.origin.url").strip() == http_origin.replace("bot:tok3n@", "")
    # A refresh with the credentials works; without them the server refuses, and says so.
    assert await ensure_mirror(http_origin, mirrors) == mirror
    with pytest.raises(GitError) as caught:
        await ensure_mirror(http_origin.replace("bot:tok3n@", ""), mirrors)
    assert "cannot fetch repository http://127.0.0.1" in caught.value.message
    assert "terminal prompts disabled" in caught.value.message

    path = tmp_path / "wt"
    await add_worktree(mirror, path, "wo/http", "refs/remotes/origin/main")
    (path / "new.txt").write_text("new\n")
    sha = await commit_all(path, "over http", phase="implementing")
    await push(path, http_origin, "wo/http")
    assert sh(tmp_path / "served" / "widgets.git", "rev-parse", "wo/http").strip() == sha
    assert "tok3n" not in (mirror / "config").read_text()


async def test_work_orders_asking_at_once_share_fetches_and_later_ones_fetch_again(
    origin: Path, tmp_path: Path, sh: Sh
) -> None:
    token = "t0ken-for-fetching"
    with GitHttpServer(tmp_path / "git-http", tokens={token}) as forge:
        url = forge.add_repo("acme/widgets", source=origin)
        mirrors = tmp_path / "mirrors"
        mirror = await ensure_mirror(url, mirrors, token=token)

        def fetches() -> int:  # each fetch posts once to git-upload-pack
            return sum(r.method == "POST" and r.path.endswith("/git-upload-pack") for r in forge.requests)

        before = fetches()
        await asyncio.gather(*(ensure_mirror(url, mirrors, token=token) for _ in range(8)))
        assert 1 <= fetches() - before <= 2  # not eight, queued one behind another
        # Asking after those fetches began: a fetch of its own, which sees the new commit.
        bare = tmp_path / "git-http" / "acme" / "widgets.git"
        sh(origin, "commit", "--quiet", "--allow-empty", "-m", "later")
        sh(origin, "push", "--quiet", str(bare), "main")
        await ensure_mirror(url, mirrors, token=token)
        assert sh(mirror, "log", "-1", "--format=%s", "refs/remotes/origin/main").strip() == "later"
