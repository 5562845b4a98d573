"""Seed 004: feedback clusters, their coding plans (versioned, editable), `start_fix` → jobs, and
the runner registry that picks the agent and sandbox (or remote executor) a job runs with."""
