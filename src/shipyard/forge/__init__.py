"""Forges: where branches are pushed, pull requests opened and merged, issues read and answered,
releases tagged.

`base` draws the protocol (ForgeRepos, ForgeIssues, ForgePulls, ForgeReleases: one `Forge`),
`registry` builds one by name for a repository; adapters: `local` (Shipyard's store and git on
disk) and `github` (githubkit, loaded on the first call). `issue_thread` and `pr_body` write what
a forge shows.
"""
