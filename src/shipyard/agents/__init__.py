"""Agents: adapters that turn a prompt into changes in a workspace.

`base.py` holds the `Agent` protocol; `registry.py` maps names (`shell`, `claude`, `codex`,
`cursor`, `gemini`, `openai`, `opencode`, `replay`, `acp`) to adapters built from settings;
`install.py` holds the table of agent CLIs that `shipyard agents install` puts into the data dir,
and finds them there. Imports `domain` and the sandboxes' protocol.
"""
