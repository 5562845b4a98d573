"""A small ACP agent written against the `agent-client-protocol` SDK, for the `acp` adapter's tests.

Usage: acp_agent.py [SCENARIO]. On a prompt it streams its answer in chunks, reads `notes.txt`
through the client (fs/read_text_file), asks leave to write `hello.txt` (session/request_permission)
and writes it through the client (fs/write_text_file) with the note's text, tries to write
`../escape.txt` without asking (which a client must refuse), reports a plan and usage, and ends its turn.
Scenarios: `work` (the above); `outside`, whose write of hello.txt names a location outside the
workspace in its permission request; `crash`, which dies on the prompt after a word on stderr;
`refuse`, which ends its turn with stopReason `refusal`. Sessions can be loaded (`session/load`),
which replays an old message and is then answered by naming the session.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    RequestError,
    plan_entry,
    run_agent,
    start_tool_call,
    text_block,
    tool_content,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
)
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    ToolCallLocation,
    ToolCallUpdate,
    Usage,
    UsageUpdate,
)

OPTIONS = [
    PermissionOption(option_id="yes", name="Allow", kind="allow_once"),
    PermissionOption(option_id="no", name="Reject", kind="reject_once"),
]


class ScriptedAgent:
    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.client: Client | None = None
        self.cwd = ""

    def on_connect(self, conn: Client) -> None:
        self.client = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        capabilities = AgentCapabilities(load_session=True)
        return InitializeResponse(protocol_version=PROTOCOL_VERSION, agent_capabilities=capabilities)

    async def new_session(self, cwd: str, **kwargs: Any) -> NewSessionResponse:
        self.cwd = cwd
        return NewSessionResponse(session_id=str(uuid.uuid4()))

    async def load_session(self, cwd: str, session_id: str, **kwargs: Any) -> LoadSessionResponse:
        self.cwd = cwd
        await self.say(session_id, "An answer of the earlier turn.")
        return LoadSessionResponse()

    async def authenticate(self, method_id: str, **kwargs: Any) -> None:
        return None

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        return None

    async def say(self, session_id: str, text: str) -> None:
        assert self.client is not None
        await self.client.session_update(session_id=session_id, update=update_agent_message_text(text))

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        asked = "".join(getattr(block, "text", "") for block in prompt)
        if self.scenario == "crash":
            print("boom: the model exploded", file=sys.stderr, flush=True)
            os._exit(3)
        if asked.startswith("resume"):
            await self.say(session_id, f"Resumed {session_id}.")
            return PromptResponse(stop_reason="end_turn")
        if self.scenario == "refuse":
            await self.say(session_id, "I will not.")
            return PromptResponse(stop_reason="refusal")
        await self.work(session_id)
        usage = Usage(
            input_tokens=1200, output_tokens=80, thought_tokens=15, cached_read_tokens=400, total_tokens=1280
        )
        return PromptResponse(stop_reason="end_turn", usage=usage)

    async def work(self, session_id: str) -> None:
        assert self.client is not None
        update = self.client.session_update
        await update(session_id=session_id, update=update_agent_thought_text("Notes first."))
        await self.say(session_id, "Let me ")
        await self.say(session_id, "read the notes.")
        notes = await self.read(session_id)
        await update(session_id=session_id, update=update_plan([plan_entry("write hello.txt")]))
        written = await self.write(session_id, "call_2", "hello.txt", notes)
        # Without asking first (an agent need not): the client itself must refuse the path.
        await self.write(session_id, "call_3", os.path.join(self.cwd, "..", "escape.txt"), "out", ask=False)
        await update(
            session_id=session_id,
            update=UsageUpdate(
                session_update="usage_update",
                used=1280,
                size=200000,
                cost={"amount": 0.0123, "currency": "USD"},
            ),
        )
        await self.say(session_id, "Wrote hello.txt." if written else "I was not allowed to write hello.txt.")

    async def read(self, session_id: str) -> str:
        assert self.client is not None
        path = os.path.join(self.cwd, "notes.txt")
        start = start_tool_call(
            "call_1",
            "Read notes.txt",
            kind="read",
            status="in_progress",
            locations=[ToolCallLocation(path=path)],
            raw_input={"path": path},
        )
        await self.client.session_update(session_id=session_id, update=start)
        read = await self.client.read_text_file(session_id=session_id, path=path, line=2, limit=1)
        done = update_tool_call(
            "call_1", status="completed", content=[tool_content(text_block(read.content))]
        )
        await self.client.session_update(session_id=session_id, update=done)
        return read.content

    async def write(self, session_id: str, call_id: str, path: str, content: str, ask: bool = True) -> bool:
        """Ask leave, then write through the client; report the call's outcome either way."""
        assert self.client is not None
        named = "/elsewhere/hello.txt" if self.scenario == "outside" else os.path.join(self.cwd, path)
        start = start_tool_call(
            call_id,
            f"Write {path}",
            kind="edit",
            status="pending",
            locations=[ToolCallLocation(path=named)],
            raw_input={"path": path},
        )
        await self.client.session_update(session_id=session_id, update=start)
        call = ToolCallUpdate(tool_call_id=call_id, title=start.title, kind="edit", locations=start.locations)
        answer = (
            await self.client.request_permission(session_id=session_id, tool_call=call, options=OPTIONS)
            if ask
            else None
        )
        if answer is not None and getattr(answer.outcome, "option_id", None) != "yes":
            failed = update_tool_call(call_id, status="failed", raw_output={"error": "permission refused"})
            await self.client.session_update(session_id=session_id, update=failed)
            return False
        try:
            await self.client.write_text_file(session_id=session_id, path=path, content=content)
        except RequestError as err:
            failed = update_tool_call(call_id, status="failed", raw_output={"error": str(err)})
            await self.client.session_update(session_id=session_id, update=failed)
            return False
        done = update_tool_call(call_id, status="completed", raw_output={"written": path})
        await self.client.session_update(session_id=session_id, update=done)
        return True


if __name__ == "__main__":
    asyncio.run(run_agent(ScriptedAgent(sys.argv[1] if len(sys.argv) > 1 else "work")))
