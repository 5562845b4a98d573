"""`shipyard report` against a loopback server answering as the API does: what it sends, what it says."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shipyard.cli.main import app

Answer = tuple[int, bytes]


class FakeApi(ThreadingHTTPServer):
    """Records each request (method, path, headers, body) and gives the next queued answer."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict[str, Any]] = []
        self.answers: list[Answer] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeApi

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append(
            {"method": self.command, "path": self.path, "headers": self.headers, "body": body}
        )
        status, text = self.server.answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_POST = do_PUT = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[FakeApi]:
    server = FakeApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def report(api: FakeApi, *args: str) -> Any:
    env = {"SHIPYARD_URL": api.url + "/", "SHIPYARD_WORK_ORDER_ID": "wo-abcd1234", "SHIPYARD_TOKEN": "tok"}
    return CliRunner().invoke(app, ["report", *args], env={**env, "SHIPYARD_STEP_ID": "test"})


def test_an_event_is_posted_with_the_token_and_typed_fields(api: FakeApi) -> None:
    api.answers.append((201, b'{"agent_work_order_id": "wo-abcd1234", "event": "report.tests"}'))
    done = report(api, "event", "tests", "passed=41", "suite=unit", "--level", "warning")
    assert done.exit_code == 0, done.output
    assert done.stdout == "report.tests added to wo-abcd1234\n"
    [seen] = api.seen
    assert (seen["method"], seen["path"]) == ("POST", "/api/agent-work-orders/wo-abcd1234/report")
    assert seen["headers"]["Authorization"] == "Bearer tok"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"]) == {
        "type": "tests",
        "data": {"passed": 41, "suite": "unit"},
        "level": "warning",
        "step_id": "test",
    }


def test_an_artifact_is_uploaded_under_its_name_quoted(api: FakeApi, tmp_path: Path) -> None:
    file = tmp_path / "cov report.xml"
    file.write_bytes(b"<coverage/>")
    api.answers.append((201, b'{"name": "cov report.xml", "size": 11}'))
    done = report(api, "artifact", str(file))
    assert done.exit_code == 0, done.output
    assert done.stdout == "cov report.xml (11 bytes) uploaded to wo-abcd1234\n"
    [seen] = api.seen
    assert (seen["method"], seen["path"]) == (
        "PUT",
        "/api/agent-work-orders/wo-abcd1234/artifacts/cov%20report.xml",
    )
    assert (seen["headers"]["Content-Type"], seen["body"]) == ("application/xml", b"<coverage/>")


def test_a_refusal_says_the_api_s_message_and_exits_1(api: FakeApi) -> None:
    api.answers.append((403, b'{"error": {"code": "forbidden", "message": "not your work order"}}'))
    done = report(api, "event", "tests")
    assert done.exit_code == 1
    assert "Shipyard refused the report (403): not your work order" in done.stderr


def test_a_refusal_without_json_shows_what_came_back(api: FakeApi) -> None:
    api.answers.append((502, b"bad gateway"))
    done = report(api, "event", "tests")
    assert done.exit_code == 1
    assert "Shipyard refused the report (502): bad gateway" in done.stderr


def test_a_page_instead_of_an_answer_is_one_line(api: FakeApi, tmp_path: Path) -> None:
    page = b"<!DOCTYPE html>\n<html>\n<head><title>404</title></head>\n<h1>Not Found</h1>\n</html>\n"
    api.answers.append((404, page))
    (tmp_path / "cov.xml").write_text("<coverage/>")
    done = report(api, "artifact", str(tmp_path / "cov.xml"))
    assert done.exit_code == 1
    where = f"{api.url}/api/agent-work-orders/wo-abcd1234/artifacts/cov.xml"
    assert done.stderr == f"error: Shipyard refused the report (404): Not Found at {where}\n"


def test_brackets_in_a_message_are_shown_not_taken_as_markup(api: FakeApi) -> None:
    api.answers.append((422, b'{"error": {"code": "invalid", "message": "data: [bold] and [/] [x=1]"}}'))
    done = report(api, "event", "tests")
    assert "(422): data: [bold] and [/] [x=1]" in done.stderr
