"""The `openai` agent: a minimal tool loop over any OpenAI-compatible Chat Completions endpoint."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from shipyard.agents._classify import failure
from shipyard.agents._openai_tools import TOOLS, Toolbox, ToolOutcome
from shipyard.agents._util import clip, preview, redact_result
from shipyard.config import Settings
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability, Usage
from shipyard.sandboxes.base import Workspace

DEFAULT_BASE_URL = "https://api.openai.com/v1"
REQUEST_TIMEOUT_S = 300.0
SYSTEM_PROMPT = (
    "You are a coding agent working in a git repository. Use the tools to look at files, change "
    "them and run commands; paths are relative to the repository root. Work until the task is "
    "done, then call `finish` with a short summary of what you changed."
)


class EndpointError(Exception):
    """The endpoint refused or failed a request; carries what the caller needs to classify it."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass
class _Run:
    """The state of one run, kept so a timeout can still report what was spent."""

    messages: list[dict[str, Any]]
    usage: Usage = field(default_factory=Usage)
    output: str = ""


class OpenAIAgent:
    """Built-in coding agent: list, read and write files, run commands, finish."""

    name = "openai"
    description = "Built-in tool loop on any OpenAI-compatible Chat Completions endpoint."

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def check(self) -> Availability:
        """Available with an API key, or with a non-default (e.g. local) endpoint."""
        custom = self._settings.openai_base_url.rstrip("/") != DEFAULT_BASE_URL
        if self._settings.openai_api_key is None and not custom:
            return Availability(available=False, credentials=False, reason="set OPENAI_API_KEY")
        return Availability(
            available=True,
            reason=f"{self._settings.openai_model} at {self._settings.openai_base_url}",
        )

    def _headers(self) -> dict[str, str]:
        key = self._settings.openai_api_key
        return {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Loop: ask the model, run its tool calls, until it finishes or runs out of turns."""
        state = _Run(
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": request.prompt},
            ]
        )
        try:
            async with asyncio.timeout(request.timeout_s):
                outcome = await self._loop(request, state, Toolbox(workspace, events), events)
        except TimeoutError:
            message = f"timed out after {request.timeout_s or 0:g} s"
            outcome = failure(
                message, kind="timeout", retryable=False, output=state.output, usage=state.usage
            )
        except EndpointError as err:
            outcome = failure(
                str(err),
                status=err.status,
                retryable=err.retryable,
                output=state.output,
                usage=state.usage,
            )
        await events.emit("agent.usage", {**outcome.usage.model_dump(mode="json"), "final": True})
        key = self._settings.openai_api_key
        return redact_result(outcome, [key.get_secret_value() if key else None])

    async def _loop(
        self, request: AgentRequest, state: _Run, tools: Toolbox, events: EventSink
    ) -> AgentResult:
        model = request.model or self._settings.openai_model
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
            while state.usage.turns < self._settings.openai_max_turns:
                reply = await self._complete(client, model, state, events)
                if await self._act(reply, state, tools, events):
                    return AgentResult(ok=True, output=state.output, usage=state.usage)
        limit = self._settings.openai_max_turns
        return failure(
            f"no finish after {limit} turns",
            kind="max_turns",
            retryable=False,
            output=state.output,
            usage=state.usage,
        )

    async def _complete(
        self, client: httpx.AsyncClient, model: str, state: _Run, events: EventSink
    ) -> dict[str, Any]:
        payload = {
            "model": model,
            "messages": state.messages,
            "tools": TOOLS,
            "tool_choice": "auto",
        }
        body = await self._post(client, payload)
        spent = body.get("usage") or {}
        details = (spent.get("prompt_tokens_details") or {}, spent.get("completion_tokens_details") or {})
        state.usage = state.usage + Usage(
            turns=1,
            input_tokens=int(spent.get("prompt_tokens") or 0),
            cached_input_tokens=int(details[0].get("cached_tokens") or 0),
            output_tokens=int(spent.get("completion_tokens") or 0),
            reasoning_tokens=int(details[1].get("reasoning_tokens") or 0),
        )
        await events.emit("agent.usage", {**state.usage.model_dump(mode="json"), "final": False})
        try:
            message = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as err:
            raise EndpointError(
                f"response without a message: {clip(str(body), 500)}", retryable=False
            ) from err
        return dict(message)

    async def _post(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._settings.openai_base_url.rstrip('/')}/chat/completions"
        try:
            response = await client.post(url, json=payload, headers=self._headers())
        except httpx.HTTPError as err:
            raise EndpointError(f"cannot reach {url}: {err!r}", retryable=True) from err
        if response.status_code >= 400:
            detail = _error_detail(response)
            raise EndpointError(
                f"HTTP {response.status_code} from {url}: {detail}", status=response.status_code
            )
        try:
            body = response.json()
        except ValueError as err:
            raise EndpointError(f"non-JSON response from {url}: {clip(response.text, 500)}") from err
        if not isinstance(body, dict):
            raise EndpointError(f"unexpected response from {url}: {clip(response.text, 500)}")
        return body

    async def _act(self, message: dict[str, Any], state: _Run, tools: Toolbox, events: EventSink) -> bool:
        """Record the model's reply and run its tool calls; True when the run is finished."""
        content = message.get("content") or ""
        calls = message.get("tool_calls") or []
        state.messages.append(
            {
                "role": "assistant",
                "content": content or None,
                **({"tool_calls": calls} if calls else {}),
            }
        )
        if content:
            state.output = content
            await events.emit("agent.message", {"text": content, "role": "assistant"})
        if not calls:
            return True
        for call in calls:
            outcome = await _call_tool(call, tools, events)
            state.messages.append({"role": "tool", "tool_call_id": call.get("id"), "content": outcome.text})
            if outcome.finish is not None:
                state.output = outcome.finish or state.output
                return True
        return False


async def _call_tool(call: dict[str, Any], tools: Toolbox, events: EventSink) -> ToolOutcome:
    """Run one tool call, announcing it and its result as events."""
    function = call.get("function") or {}
    name, arguments = str(function.get("name", "")), str(function.get("arguments") or "")
    call_id = call.get("id")
    await events.emit("agent.tool_call", {"name": name, "input": preview(_parsed(arguments)), "id": call_id})
    outcome = await tools.call(name, arguments)
    result = {"is_error": outcome.is_error, "content": preview(outcome.text), "id": call_id}
    await events.emit("agent.tool_result", result)
    return outcome


def _parsed(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _error_detail(response: httpx.Response) -> str:
    """The endpoint's own error message, or the start of its body."""
    try:
        body = response.json()
    except ValueError:
        return clip(response.text, 500)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return clip(response.text, 500)
