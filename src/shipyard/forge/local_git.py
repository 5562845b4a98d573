"""The local forge's git: branches listed, compared and made, merges and tags, in a repository on
this machine, without a checkout, so nobody's working tree is touched."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from shipyard.domain.errors import Conflict, ForgeError, InvalidInput, NotFound
from shipyard.forge.models import MergeMethod
from shipyard.gitutil import (
    GitProgress,
    failure,
    git,
    local_path,
    progress,
    resolve_commit,
    run_git,
    worktrees,
)

_FALLBACK_IDENTITY = ("-c", "user.name=Shipyard", "-c", "user.email=shipyard@localhost")


def repository_path(url: str) -> Path | None:
    """The directory of a repository given as a path or file:// URL; None for remote URLs."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if "://" in url or url.startswith("git@"):
        return None
    return local_path(url)


def on_disk(url: str) -> Path:
    """The repository's directory; ForgeError for a remote one, which the local forge only pushes to."""
    path = repository_path(url)
    if path is None:
        raise ForgeError(f"the local forge changes branches only in repositories on this machine, not {url}")
    return path.resolve()


async def create_branch(repo: Path, branch: str, from_ref: str) -> str:
    """Branch `branch` at the commit `from_ref` names; Conflict if it exists. Its sha."""
    sha = await resolve_commit(repo, from_ref)
    made = await run_git("update-ref", f"refs/heads/{branch}", sha, "", cwd=repo)
    if not made.ok:
        raise Conflict(f"branch {branch} already exists in {repo}")
    return sha


async def branches(repo: Path) -> list[tuple[str, str]]:
    """Each branch of `repo` and the commit it points at, by name."""
    listed = await git(
        "for-each-ref", "--sort=refname", "--format=%(refname)%00%(objectname)", "refs/heads", cwd=repo
    )
    pairs = (line.split("\0", 1) for line in listed.splitlines() if "\0" in line)
    return [(ref.removeprefix("refs/heads/"), sha) for ref, sha in pairs]


async def branch_tip(repo: Path, branch: str) -> str | None:
    """The commit branch `branch` points at; None when there is no such branch."""
    tip = await run_git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", cwd=repo)
    return tip.stdout.strip() if tip.ok else None


async def compare(repo: Path, base: str, head: str) -> GitProgress:
    """What branch `head` holds that branch `base` lacks (from where they part); InvalidInput naming
    a branch that does not exist, or two that share no history."""
    tips = []
    for branch in (base, head):
        tip = await branch_tip(repo, branch)
        if tip is None:
            raise InvalidInput(f"branch {branch} does not exist in {repo}")
        tips.append(tip)
    fork = await run_git("merge-base", *tips, cwd=repo)
    if not fork.ok:
        raise InvalidInput(f"{head} and {base} share no history in {repo}")
    return await progress(repo, fork.stdout.strip(), tips[1])


async def merge(repo: Path, head: str, base: str, message: str, method: MergeMethod) -> str:
    """Merge branch `head` into branch `base` (a merge commit, or one squashed commit); the new sha."""
    if method == "rebase":
        raise InvalidInput("the local forge merges or squashes; it does not rebase")
    if base in (await worktrees(repo)).values():
        raise Conflict(f"branch {base} is checked out in {repo}: merge it there")
    base_sha = await resolve_commit(repo, f"refs/heads/{base}")
    head_sha = await resolve_commit(repo, f"refs/heads/{head}")
    if (await run_git("merge-base", "--is-ancestor", head_sha, base_sha, cwd=repo)).ok:
        return base_sha  # merged before: nothing left to bring in
    tree = await run_git("merge-tree", "--write-tree", base_sha, head_sha, cwd=repo)
    if not tree.ok:
        raise Conflict(f"{head} does not merge cleanly into {base}: {tree.stdout.strip()[-500:]}")
    parents = ["-p", base_sha] if method == "squash" else ["-p", base_sha, "-p", head_sha]
    identity = () if await _has_identity(repo) else _FALLBACK_IDENTITY
    new_tree = tree.stdout.splitlines()[0].strip()
    commit = await git(*identity, "commit-tree", new_tree, *parents, "-m", message, cwd=repo)
    # Compare-and-swap: a base that moved meanwhile is not overwritten.
    await git("update-ref", f"refs/heads/{base}", commit.strip(), base_sha, cwd=repo)
    return commit.strip()


async def create_tag(repo: Path, tag: str, branch: str, message: str) -> str:
    """Annotated tag `tag` with `message` at the tip of branch `branch`; the tagged sha. A tag that
    names that commit already is kept as it is; one on another commit is a Conflict naming both."""
    if tag.startswith("-") or not (await run_git("check-ref-format", f"refs/tags/{tag}", cwd=repo)).ok:
        raise InvalidInput(f"{tag!r} is not a valid tag name")
    sha = await branch_tip(repo, branch)
    if sha is None:
        raise NotFound(f"branch {branch} does not exist in {repo}")
    identity = () if await _has_identity(repo) else _FALLBACK_IDENTITY
    # whitespace, not git's default strip: release notes' Markdown headings start with '#'.
    made = await run_git(*identity, "tag", "-a", "--cleanup=whitespace", "-m", message, tag, sha, cwd=repo)
    tagged = await run_git("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}", cwd=repo)
    if not tagged.ok:
        raise failure(made)
    if tagged.stdout.strip() != sha:
        raise Conflict(
            f"tag {tag} already exists in {repo} on commit {tagged.stdout.strip()}, "
            f"not on {branch}'s tip {sha}"
        )
    return sha


async def _has_identity(repo: Path) -> bool:
    return (await run_git("var", "GIT_COMMITTER_IDENT", cwd=repo)).ok
