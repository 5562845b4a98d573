"""Sandboxes: where a work order's commands and agents run, each on its own git branch.

`base.py` holds the `Sandbox` and `Workspace` protocols; `registry.py` maps names
(`git_worktree`, `git_branch`, `bwrap`, `docker`, `e2b`, `dagger`) to adapters. Imports `domain`
and `gitutil`.
"""
