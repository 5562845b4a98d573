"""The fake GitHub's branches (listed too) and tags, and its merges: in memory (`FakeRepo.refs`, made-up
commits), or, when the test gave the repository's git data (`FakeGitHub.git_dirs`: the bare
repository GitHttpServer serves), in that repository. Then a branch made, a pull request merged
or a release tagged through the API is one that git clones and fetches see, as on GitHub."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from fakes.github_diff import git
from fakes.github_json import FakeRepo, GitHubError, Pull

if TYPE_CHECKING:
    from fakes.github_api import FakeGitHub

_MERGER = {  # who GitHub's merge commits are by
    "GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com",
}  # fmt: skip


def _git_dir(fake: FakeGitHub, repo: FakeRepo) -> Path | None:
    return fake.git_dir(repo.json["full_name"])


def _ok(git_dir: Path, *args: str) -> str | None:
    """git's output, or None when it says no."""
    done = subprocess.run(["git", *args], cwd=git_dir, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def read_ref(fake: FakeGitHub, repo: FakeRepo, ref: str) -> str | None:
    """What `ref` (refs/heads/…, refs/tags/…) points at, or None when there is no such ref."""
    git_dir = _git_dir(fake, repo)
    if git_dir is None:
        return repo.refs.get(ref)
    return _ok(git_dir, "rev-parse", "--verify", "--quiet", ref)


def branches(fake: FakeGitHub, repo: FakeRepo) -> list[tuple[str, str]]:
    """Each branch and the commit it points at, by name (as GitHub lists them)."""
    git_dir = _git_dir(fake, repo)
    if git_dir is None:
        heads = [(ref, sha) for ref, sha in repo.refs.items() if ref.startswith("refs/heads/")]
    else:
        listed = _ok(git_dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads") or ""
        heads = [(ref, sha) for ref, _, sha in (line.partition(" ") for line in listed.splitlines())]
    return sorted((ref.removeprefix("refs/heads/"), sha) for ref, sha in heads)


def write_ref(fake: FakeGitHub, repo: FakeRepo, ref: str, sha: str) -> None:
    """Point `ref` at `sha` (made if missing)."""
    git_dir = _git_dir(fake, repo)
    if git_dir is None:
        repo.refs[ref] = sha
    else:
        git(git_dir, "update-ref", ref, sha)


def is_commit(fake: FakeGitHub, repo: FakeRepo, sha: str) -> bool:
    """Whether `sha` names a commit the repository holds."""
    git_dir = _git_dir(fake, repo)
    if git_dir is None:
        return sha in repo.refs.values()
    return _ok(git_dir, "cat-file", "-e", f"{sha}^{{commit}}") is not None


def has_commits(fake: FakeGitHub, repo: FakeRepo, base: str, head: str) -> bool:
    """Whether branch `head` has commits branch `base` lacks (without git data: whether they differ)."""
    git_dir = _git_dir(fake, repo)
    if git_dir is None:
        return base != head
    count = _ok(git_dir, "rev-list", "--count", f"refs/heads/{base}..refs/heads/{head}")
    return count is None or int(count or 0) > 0  # a missing branch is refused elsewhere, if at all


def merge_in_git(git_dir: Path, pull: Pull, method: str) -> str:
    """Merge the pull request's head into its base in the bare repository, as GitHub does (a merge
    commit; `squash` and `rebase`: one commit on the base); the base's new commit. A conflict is
    GitHub's 405."""
    base_ref = f"refs/heads/{pull.base}"
    base, head = (git(git_dir, "rev-parse", ref).strip() for ref in (base_ref, f"refs/heads/{pull.head}"))
    tree = _ok(git_dir, "merge-tree", "--write-tree", base, head)
    if tree is None:
        raise GitHubError(405, "Pull Request is not mergeable")
    if method == "merge":
        parents = ["-p", base, "-p", head]
        message = f"Merge pull request #{pull.number} from {pull.head_label}\n\n{pull.title}"
    else:
        parents, message = ["-p", base], f"{pull.title} (#{pull.number})"
    made = subprocess.run(
        ["git", "commit-tree", tree.splitlines()[0], *parents, "-m", message],
        cwd=git_dir, capture_output=True, text=True, env=os.environ | _MERGER, check=True,
    )  # fmt: skip
    sha = made.stdout.strip()
    git(git_dir, "update-ref", base_ref, sha, base)  # refused if the base moved meanwhile
    return sha
