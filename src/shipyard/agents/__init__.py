"""Agents: adapters that turn a prompt into changes in a workspace.

`base.py` holds the `Agent` protocol; `registry.py` maps names (`shell`, `claude`, `codex`,
`openai`, `replay`) to adapters built from settings. Imports `domain` and the sandboxes' protocol.
"""
