"""The Agent protocol."""

from __future__ import annotations

from typing import Protocol

from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace


class Agent(Protocol):
    """Runs a prompt in a workspace and reports what happened as events and a result."""

    name: str
    description: str

    def check(self) -> Availability:
        """Whether this adapter can run on this machine (binary present, credentials configured)."""
        ...

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run to completion. Emits `agent.message`, `agent.tool_call`, `agent.usage` events as it goes.

        Failures come back as `AgentResult(ok=False, error_kind=…, retryable=…)`; only
        cancellation raises.
        """
        ...
