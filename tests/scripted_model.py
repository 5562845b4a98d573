"""A scripted model server: a real HTTP server on loopback that speaks a provider's API (the
Anthropic Messages API for Claude Code, the OpenAI Responses API for Codex, the OpenAI Chat
Completions API for opencode, the Gemini API for Gemini CLI, each streamed or not) and answers
from a script, so that a real agent CLI runs its own tool loop, file edits and output format end to
end with no outside service.

A script is a list of turns; each request of the agent's main loop takes the next one. A turn is
text, tool calls to make, the usage to report, or an error to answer with (status and message,
e.g. 401 or 429). Requests that are not the main loop's (a CLI's side calls: titles, summaries,
token counts) are answered with a short text and take no turn: a main-loop request is one that
offers tools. Every request is kept (`requests`), so a test can read the tool results the agent
sent back. `{cwd}` in a tool call's input stands for the agent's working directory, as the request
tells it (Claude Code: "Primary working directory: …"; Codex: `<cwd>…</cwd>`; opencode and Kilo
Code: "Working directory: …"; Gemini CLI: "Workspace Directories: - …"), for the tools that want
absolute paths.

Each API is a module of scripted_dialects/ (anthropic, responses, chat, gemini; their error bodies in
errors.py); this one holds the script, the routes and what all dialects share.

By hand: `python tests/scripted_model.py script.json --port 8765`, then point the CLI there
(`ANTHROPIC_BASE_URL=http://127.0.0.1:8765`; Codex: `CODEX_HOME` a directory made by
`codex_home`; opencode: `OPENCODE_CONFIG_CONTENT` from `opencode_config`, Kilo Code 7.x:
`KILO_CONFIG_CONTENT` from the same; Gemini CLI:
`GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8765`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scripted_dialects import anthropic, chat, gemini, responses
from scripted_dialects.errors import anthropic_error, google_error, openai_error

# A model Codex 0.171 knows that offers plain tools (`exec_command {cmd}`, a freeform
# `apply_patch`); its newer ones default to a "code mode" that sends no `tools` at all.
CODEX_MODEL = "gpt-5.5"


@dataclass
class ToolCall:
    """A call of one of the tools the request offers; a string input calls a freeform tool (the
    Responses API's `custom` tools, such as Codex's `apply_patch`) with that text."""

    name: str
    input: dict[str, Any] | str


@dataclass
class Turn:
    """One answer of the model: text and tool calls (in that order), with the usage it reports;
    or, with `error_status`, an error answer instead."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int = 10
    output_tokens: int = 5
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int = 0
    error_status: int | None = None
    error_message: str = ""

    @classmethod
    def of(cls, data: dict[str, Any]) -> Turn:
        calls = [ToolCall(c["name"], c.get("input", {})) for c in data.get("tool_calls", [])]
        return cls(**{**data, "tool_calls": calls})


# Where each CLI names its working directory: Claude Code, Codex, opencode, Gemini CLI, Kilo Code
# (`<environment_details>` after the prompt, a JSON-escaped newline before it).
_CWD = re.compile(
    r"Primary working directory: ([^\s\\]+)|<cwd>([^<]+)</cwd>|  Working directory: ([^\s\\]+)"
    r"|Workspace Directories:\*\*\\n  - ([^\s\\]+)|\\nWorking directory: ([^\s\\]+)"
)


def _with_cwd(value: Any, cwd: str) -> Any:
    if isinstance(value, str):
        return value.replace("{cwd}", cwd)
    if isinstance(value, dict):
        return {k: _with_cwd(v, cwd) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_cwd(v, cwd) for v in value]
    return value


class ScriptedModel:
    """The server's state: the script still to answer, and every request seen."""

    def __init__(self, turns: Iterable[Turn], model: str = "claude-sonnet-4-5") -> None:
        self.turns = list(turns)
        self.model = model
        self.requests: list[dict[str, Any]] = []  # main-loop requests, in order
        self.side_requests: list[dict[str, Any]] = []
        self.keys: set[str] = set()  # the API keys requests came with (any header a dialect uses)
        # Aider offers no tools: with this False, every request of its is the main loop's.
        self.main_loop_offers_tools = True
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1beta/models/{target}", self._gemini, methods=["POST"]),
            ]
        )

    @property
    def unused(self) -> list[Turn]:
        return self.turns

    def _turn_for(self, body: dict[str, Any], *, offers_tools: bool) -> Turn:
        """The next turn for a main-loop request (one that offers tools); a side call's short text."""
        if offers_tools:
            return self._take(body)
        self.side_requests.append(body)
        return Turn(text="ok", input_tokens=1, output_tokens=1)

    def _take(self, body: dict[str, Any]) -> Turn:
        """The next turn for a main-loop request, with `{cwd}` filled in from the request."""
        self.requests.append(body)
        if not self.turns:
            return Turn(error_status=500, error_message="the script has no turn left for this request")
        turn = self.turns.pop(0)
        if found := _CWD.search(json.dumps(body)):
            cwd = next(group for group in found.groups() if group)
            turn.tool_calls = [ToolCall(c.name, _with_cwd(c.input, cwd)) for c in turn.tool_calls]
        return turn

    # Each dialect answers from scripted_dialects/; a request that offers no tools is a side call.

    async def _body(self, request: Request) -> Any:
        """The request's JSON; its API key kept in `keys`."""
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        for key in (bearer, request.headers.get("x-api-key"), request.headers.get("x-goog-api-key")):
            if key:
                self.keys.add(key)
        return await request.json()

    async def _messages(self, request: Request) -> Response:
        body = await self._body(request)
        turn = self._turn_for(body, offers_tools=bool(body.get("tools")))
        if turn.error_status is not None:
            return anthropic_error(turn.error_status, turn.error_message or "scripted error")
        return anthropic.answer(body, turn, self.model, self._ids)

    async def _count_tokens(self, request: Request) -> Response:
        return JSONResponse({"input_tokens": 10})

    async def _responses(self, request: Request) -> Response:
        body = await self._body(request)
        turn = self._turn_for(body, offers_tools=bool(body.get("tools")))
        if turn.error_status is not None:
            return openai_error(turn.error_status, turn.error_message or "scripted error")
        return responses.answer(body, turn, self.model, self._ids)

    async def _chat_completions(self, request: Request) -> Response:
        body = await self._body(request)
        main_loop = bool(body.get("tools")) or not self.main_loop_offers_tools
        turn = self._turn_for(body, offers_tools=main_loop)
        if turn.error_status is not None:
            return openai_error(turn.error_status, turn.error_message or "scripted error")
        return chat.answer(body, turn, self.model, self._ids)

    async def _gemini(self, request: Request) -> Response:
        """`{model}:generateContent` or `{model}:streamGenerateContent`; the model is the one asked for."""
        model, _, method = request.path_params["target"].partition(":")
        body = await self._body(request)
        turn = self._turn_for(body, offers_tools=bool(body.get("tools")))
        if turn.error_status is not None:
            return google_error(turn.error_status, turn.error_message or "scripted error")
        return gemini.answer(turn, model, stream=method == "streamGenerateContent")

    async def _models(self, request: Request) -> Response:
        return chat.models(self.model)


def codex_home(path: Path, base_url: str, model: str = CODEX_MODEL) -> Path:
    """A `CODEX_HOME` whose config.toml sends Codex to the server at `base_url`, with the key in
    OPENAI_API_KEY, retrying a failed request once, not five times with backoff. In Codex 0.171 an
    error status answering the Responses stream (429 and 401 alike) counts against
    `stream_max_retries`, not `request_max_retries`."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.toml").write_text(
        f'model = "{model}"\nmodel_provider = "scripted"\n\n[model_providers.scripted]\n'
        f'name = "scripted"\nbase_url = "{base_url}/v1"\nenv_key = "OPENAI_API_KEY"\n'
        'wire_api = "responses"\nrequest_max_retries = 1\nstream_max_retries = 1\n'
    )
    return path


def opencode_config(base_url: str, model: str, cost: dict[str, float] | None = None) -> str:
    """An `OPENCODE_CONFIG_CONTENT` whose provider `scripted` (`@ai-sdk/openai-compatible`) is the
    server at `base_url`, reading its key from OPENAI_API_KEY; `cost` prices the model (USD per
    million tokens: input, output, cache_read), or opencode reports a cost of 0."""
    entry: dict[str, Any] = {"name": model, **({"cost": cost} if cost else {})}
    options = {"baseURL": f"{base_url}/v1", "apiKey": "{env:OPENAI_API_KEY}"}
    provider = {"npm": "@ai-sdk/openai-compatible", "name": "Scripted", "options": options}
    config = {"provider": {"scripted": {**provider, "models": {model: entry}}}, "model": f"scripted/{model}"}
    return json.dumps(config)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("script", help="a JSON file: a list of turns (text, tool_calls, usage, error_status)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with open(args.script, encoding="utf-8") as fh:
        turns = [Turn.of(t) for t in json.load(fh)]
    uvicorn.run(ScriptedModel(turns).app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
