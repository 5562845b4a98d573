"""Git plumbing over subprocess: the mirror cache, worktrees, commits with phase trailers,
progress and diffs read back from a branch. Imports nothing of Shipyard but `domain`.
"""

from shipyard.gitutil.auth import token_env
from shipyard.gitutil.commit import (
    PHASE_TRAILER,
    commit_all,
    commit_staged,
    head_sha,
    is_git_repo,
    push,
)
from shipyard.gitutil.leftovers import commit_leftovers, note_command_leftovers, uncommitted
from shipyard.gitutil.mirror import (
    clone_source,
    default_branch,
    ensure_mirror,
    head_branch,
    local_path,
    mirror_path,
    origin_branches,
    remote_branches,
)
from shipyard.gitutil.progress import CommitInfo, GitProgress, diff, parse_shortstat, progress
from shipyard.gitutil.run import GitResult, failure, git, redact, run_git, strip_credentials
from shipyard.gitutil.worktree import (
    add_worktree,
    branch_exists,
    is_branch_name,
    remove_worktree,
    resolve_commit,
    worktrees,
)

__all__ = [
    "PHASE_TRAILER",
    "CommitInfo",
    "GitProgress",
    "GitResult",
    "add_worktree",
    "branch_exists",
    "clone_source",
    "commit_all",
    "commit_leftovers",
    "commit_staged",
    "default_branch",
    "diff",
    "ensure_mirror",
    "failure",
    "git",
    "head_branch",
    "head_sha",
    "is_branch_name",
    "is_git_repo",
    "local_path",
    "mirror_path",
    "note_command_leftovers",
    "origin_branches",
    "parse_shortstat",
    "progress",
    "push",
    "redact",
    "remote_branches",
    "remove_worktree",
    "resolve_commit",
    "run_git",
    "strip_credentials",
    "token_env",
    "uncommitted",
    "worktrees",
]
