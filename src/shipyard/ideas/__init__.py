"""Seed 002: an idea becomes a spec, an issue tree (epic → features → tasks) built branch by
branch by work orders, merged up into `integration` and released."""
