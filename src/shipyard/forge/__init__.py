"""Forges: where branches are pushed and pull requests opened (`local` now, `github` later)."""
