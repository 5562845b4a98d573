"""The ACP client that the `acp` agent runs inside the workspace: `python -P -m
shipyard.agents._acp_bridge [--session ID] [--model M] [--auth METHOD] -- AGENT ARGV…`, the prompt
on stdin.

It starts the agent, speaks the Agent Client Protocol with it over its stdio (initialize, a new
session in the current directory or `session/load` of an earlier one, one prompt), and prints one
JSON line per thing that happens, for the adapter's parser (_acp_stream.py):
`{"type": "session", "sessionId", "loaded"}`, `{"type": "update", "update": <the ACP session
update as sent>}`, `{"type": "permission", "toolCall", "outcome", "optionId"?}`, `{"type": "fs",
"op": "read" | "write", "path", "error"?}`, `{"type": "notice", "message"}`, and last either
`{"type": "result", "stopReason", "sessionId", "usage"?}` or `{"type": "error", "message",
"code"?}`. The agent's stderr is this process's.

It answers the agent as the sandbox's own user would: it approves every tool call (the sandbox
is the boundary, as for claude's bypassPermissions) unless the call names a path outside the
current directory; it reads and writes files only inside the current directory; it offers no
terminals (the agent runs its commands itself, inside the same sandbox).

It imports nothing of Shipyard's, so that it runs wherever a Python with `agent-client-protocol`
does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process, text_block
from acp.interfaces import Agent, Client
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    DeniedOutcome,
    FileSystemCapabilities,
    Implementation,
    InitializeResponse,
    PermissionOption,
    ReadTextFileResponse,
    RequestPermissionResponse,
    ToolCallUpdate,
    WriteTextFileResponse,
)

# This call only: Gemini CLI refuses "always" in a folder it has not been told to trust.
_ALLOW = ("allow_once", "allow_always")
_REJECT = ("reject_once", "reject_always")


def emit(kind: str, **fields: Any) -> None:
    """Print one line for the adapter."""
    print(json.dumps({"type": kind, **fields}, default=str), flush=True)


def dump(model: Any) -> Any:
    """An ACP object as it goes over the wire (camelCase, no nulls)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


class PathRefused(RequestError):
    """A path outside the workspace."""

    def __init__(self, path: str) -> None:
        super().__init__(-32602, f"{path} is outside the workspace {Path.cwd()}", {"path": path})


def inside(path: str) -> Path:
    """`path` (absolute, or relative to the workspace) resolved, links and all; PathRefused when
    it leads outside the workspace."""
    root = Path.cwd().resolve()
    target = (root / path).resolve()
    if target != root and not target.is_relative_to(root):
        raise PathRefused(path)
    return target


class BridgeClient:
    """The client side of ACP: answers the agent's requests, prints its session updates."""

    def __init__(self) -> None:
        self.replaying = False  # `session/load` replays the conversation: not news

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if not self.replaying:
            emit("update", update=dump(update))

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption], **kwargs: Any
    ) -> RequestPermissionResponse:
        outside = [loc.path for loc in tool_call.locations or [] if not _is_inside(loc.path)]
        wanted = _REJECT if outside else _ALLOW
        chosen = next((o for kind in wanted for o in options if o.kind == kind), None)
        call = dump(tool_call)
        if chosen is None:
            emit("permission", toolCall=call, outcome="cancelled", outside=outside)
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        emit("permission", toolCall=call, outcome=chosen.kind, optionId=chosen.option_id, outside=outside)
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=chosen.option_id)
        )

    async def read_text_file(
        self, session_id: str, path: str, line: int | None = None, limit: int | None = None, **kwargs: Any
    ) -> ReadTextFileResponse:
        try:
            text = inside(path).read_text()
        except (OSError, RequestError) as err:
            emit("fs", op="read", path=path, error=str(err))
            raise _as_request_error(err) from None
        emit("fs", op="read", path=path)
        if line is not None or limit is not None:
            start = max((line or 1) - 1, 0)
            lines = text.splitlines(keepends=True)
            text = "".join(lines[start : None if limit is None else start + limit])
        return ReadTextFileResponse(content=text)

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> WriteTextFileResponse:
        try:
            target = inside(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        except (OSError, RequestError) as err:
            emit("fs", op="write", path=path, error=str(err))
            raise _as_request_error(err) from None
        emit("fs", op="write", path=path)
        return WriteTextFileResponse()

    async def create_terminal(self, session_id: str, command: str, **kwargs: Any) -> Any:
        raise RequestError(-32601, "this client offers no terminals: run commands yourself", None)

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None


def _is_inside(path: str) -> bool:
    try:
        inside(path)
    except PathRefused:
        return False
    return True


def _as_request_error(err: Exception) -> RequestError:
    return err if isinstance(err, RequestError) else RequestError(-32603, str(err), None)


async def open_session(
    conn: Agent, client: BridgeClient, ready: InitializeResponse, args: argparse.Namespace
) -> str:
    """A new session in the workspace, or the earlier one `--session` names when the agent can
    load sessions."""
    cwd = str(Path.cwd())
    if args.session and ready.agent_capabilities and ready.agent_capabilities.load_session:
        client.replaying = True
        try:
            await conn.load_session(cwd=cwd, session_id=args.session, mcp_servers=[])
        finally:
            client.replaying = False
        emit("session", sessionId=args.session, loaded=True)
        return str(args.session)
    if args.session:
        emit("notice", message=f"the agent cannot load sessions: {args.session} is not resumed")
    session = await conn.new_session(cwd=cwd, mcp_servers=[])
    emit("session", sessionId=session.session_id, loaded=False)
    if args.model:
        await choose_model(conn, session.session_id, session.config_options or [], args.model)
    return session.session_id


async def choose_model(conn: Agent, session_id: str, options: list[Any], model: str) -> None:
    """Set the session's model option (the one of category `model`) to `model`."""
    option = next((o for o in options if getattr(o, "category", None) == "model" or o.id == "model"), None)
    if option is None:
        emit("notice", message=f"the agent offers no model option: {model} is not chosen")
        return
    await conn.set_config_option(config_id=option.id, session_id=session_id, value=model)


async def converse(conn: Agent, client: BridgeClient, prompt: str, args: argparse.Namespace) -> None:
    """Initialize, open the session, prompt once, print the result."""
    capabilities = ClientCapabilities(
        fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=False
    )
    ready = await conn.initialize(
        protocol_version=PROTOCOL_VERSION,
        client_capabilities=capabilities,
        client_info=Implementation(name="shipyard", version="1"),
    )
    if args.auth:
        await conn.authenticate(method_id=args.auth)
    session_id = await open_session(conn, client, ready, args)
    done = await conn.prompt(session_id=session_id, prompt=[text_block(prompt)])
    usage = dump(done.usage) if done.usage else None
    emit("result", stopReason=done.stop_reason, sessionId=session_id, usage=usage)


async def bridge(args: argparse.Namespace, prompt: str) -> int:
    """Run the agent and the conversation; 0 when the prompt was answered, 1 otherwise."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # ours, not the agent's
    client = BridgeClient()
    command, *rest = args.agent
    # Not all of the Client protocol: the SDK answers the methods it lacks (terminals, elicitation)
    # with method-not-found, and they are not offered at initialize.
    async with spawn_agent_process(
        cast(Client, client), command, *rest, env=env, transport_kwargs={"stderr": None}
    ) as (
        conn,
        process,
    ):
        talk = asyncio.ensure_future(converse(conn, client, prompt, args))
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait({talk, exited}, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.wait({talk}, timeout=1.0)  # what the agent said last, if it is gone
        if not _answered(talk):  # no answer nor an error of the agent's: did it die?
            await asyncio.wait({exited}, timeout=2.0)
        talk.cancel()
        exited.cancel()
        if not _answered(talk) and process.returncode is not None:
            emit("error", message=f"the agent exited with code {process.returncode} before it answered")
            return 1
        return _report(talk)


def _answered(talk: asyncio.Future[None]) -> bool:
    """The conversation ended with the agent's result or its error."""
    if not talk.done() or talk.cancelled():
        return False
    return talk.exception() is None or isinstance(talk.exception(), RequestError)


def _report(talk: asyncio.Future[None]) -> int:
    err = talk.exception() if not talk.cancelled() else TimeoutError("the conversation went nowhere")
    if err is None:
        return 0
    if isinstance(err, RequestError):
        data = err.data.get("details") or err.data.get("message") if isinstance(err.data, dict) else err.data
        emit("error", message=f"{err}: {data}" if data else str(err), code=err.code)
    else:
        emit("error", message=f"{type(err).__name__}: {err}")
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="shipyard.agents._acp_bridge")
    parser.add_argument("--session", help="load this session instead of starting one")
    parser.add_argument("--model", help="set the session's model option to this")
    parser.add_argument("--auth", help="authenticate with this method of the agent's first")
    parser.add_argument("agent", nargs=argparse.REMAINDER, help="-- then the agent's command line")
    args = parser.parse_args()
    args.agent = args.agent[1:] if args.agent[:1] == ["--"] else args.agent
    if not args.agent:
        parser.error("no agent command given")
    try:
        return asyncio.run(bridge(args, sys.stdin.read()))
    except OSError as err:  # the agent's program is missing or not executable
        emit("error", message=f"cannot start {args.agent[0]}: {err}")
        return 127


if __name__ == "__main__":
    sys.exit(main())
