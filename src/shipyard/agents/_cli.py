"""What the agent CLI adapters share: how one is made, and where its CLI is found."""

from __future__ import annotations

import os
from collections.abc import Mapping

from shipyard.agents._provider import provider_of
from shipyard.agents._util import EXIT_GRACE_S
from shipyard.agents.install import find_agent_binary
from shipyard.config import AgentProvider, Settings


class CliAgent:
    """An adapter's settings, the worker's environment it reads (the variables it passes on, its
    provider's key), how long its CLI may linger after reporting its outcome, and the provider
    Shipyard's config gives it. `name` is the registry's name, the `agents install` table's, and
    the prefix of its `<name>_binary` setting."""

    name: str

    def __init__(
        self,
        settings: Settings,
        exit_grace_s: float = EXIT_GRACE_S,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._exit_grace_s = exit_grace_s
        self._environ = os.environ if environ is None else environ
        self._provider: AgentProvider = provider_of(settings, self.name)

    def binary(self) -> str | None:
        """`settings.<name>_binary` when it is a path or a name other than the CLI's own; else the
        copy `shipyard agents install <name>` put in the data dir; else the CLI's name on PATH."""
        configured = getattr(self._settings, f"{self.name}_binary")
        return find_agent_binary(self._settings.data_dir, self.name, configured)
