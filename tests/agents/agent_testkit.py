"""Test helpers for the agent adapters: fake CLIs and a fake Chat Completions server.

Both speak the real wire formats; they stand in only for outside services we cannot reach
(an LLM endpoint, a CLI we cannot authenticate here).
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FAKE_CLI = Path(__file__).parent / "fakes" / "fake_cli.py"


@dataclass
class FakeCli:
    """An executable that replays a scenario, and the file where it records how it was called."""

    binary: Path
    record_path: Path

    def record(self) -> dict[str, Any]:
        return dict(json.loads(self.record_path.read_text()))


def make_fake_cli(folder: Path, name: str, scenario: dict[str, Any]) -> FakeCli:
    """Write `folder/name`: a script running fake_cli.py on `scenario` (stdout, stderr, …)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "record.json"
    scenario_path = folder / "scenario.json"
    scenario_path.write_text(json.dumps({**scenario, "record": str(record)}))
    binary = folder / name
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" "{scenario_path}" "$@"\n')
    binary.chmod(0o755)
    return FakeCli(binary, record)


@dataclass
class Reply:
    """One scripted HTTP answer."""

    status: int
    body: dict[str, Any]


@dataclass
class ChatServer:
    """A Chat Completions endpoint on 127.0.0.1 that answers with scripted replies, in order."""

    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ChatServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _handler_for(chat: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            chat.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            reply = (
                chat.replies.pop(0) if chat.replies else Reply(500, {"error": {"message": "script ran out"}})
            )
            payload = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def completion(
    message: dict[str, Any], finish_reason: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """A Chat Completions response body with one choice."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1760000000,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def tool_calls(*calls: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """An assistant message asking for tools: (call id, function name, arguments)."""
    return {
        "content": None,
        "tool_calls": [
            {
                "id": cid,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for cid, name, args in calls
        ],
    }
