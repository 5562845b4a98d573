"""git(): stdout on success, GitError with command and stderr on failure, never a prompt."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shipyard.domain.errors import GitError
from shipyard.gitutil import git, redact, run_git, strip_credentials


class _AuthRequired(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def auth_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthRequired)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}"
    for writer in held:
        writer.close()
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()


async def test_git_returns_stdout(origin: Path) -> None:
    out = await git("log", "--format=%s", cwd=origin)
    assert out.splitlines() == ["add app", "initial"]


async def test_failure_names_command_and_stderr(origin: Path) -> None:
    with pytest.raises(GitError) as caught:
        await git("rev-parse", "--verify", "no-such-branch", cwd=origin)
    assert "git rev-parse --verify no-such-branch" in caught.value.message
    assert "exit 128" in caught.value.message
    assert "Needed a single revision" in caught.value.message


async def test_run_git_returns_exit_code_without_raising(origin: Path) -> None:
    result = await run_git("diff", "--quiet", cwd=origin)
    assert result.ok
    (origin / "README.md").write_text("changed\n")
    result = await run_git("diff", "--quiet", cwd=origin)
    assert result.exit_code == 1


async def test_missing_directory_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="does not exist"):
        await git("status", cwd=tmp_path / "nowhere")


async def test_never_prompts_for_a_password(tmp_path: Path, auth_server: str) -> None:
    url = f"http://someone:s3cret-token@{auth_server}/repo.git"
    with pytest.raises(GitError) as caught:
        await git("ls-remote", url, cwd=tmp_path, timeout_s=30)
    message = caught.value.message
    assert "s3cret-token" not in message
    assert f"http://***@{auth_server}/repo.git" in message

    with pytest.raises(GitError) as caught:
        await git("ls-remote", f"http://{auth_server}/repo.git", cwd=tmp_path, timeout_s=30)
    assert "terminal prompts disabled" in caught.value.message


async def test_timeout_kills_git(tmp_path: Path, silent_server: str) -> None:
    with pytest.raises(GitError, match=r"timed out after 1 s"):
        await git("ls-remote", f"http://{silent_server}/repo.git", cwd=tmp_path, timeout_s=1)


def test_strip_credentials() -> None:
    assert strip_credentials("https://u:p@example.test/o/r.git") == "https://example.test/o/r.git"
    assert strip_credentials("git@example.test:o/r.git") == "git@example.test:o/r.git"


def test_redact_hides_url_credentials_only() -> None:
    text = "fetch https://x-access-token:ghs_abc@github.com/o/r.git and git@github.com:o/r.git"
    assert redact(text) == "fetch https://***@github.com/o/r.git and git@github.com:o/r.git"
    header = "git -c 'http.extraHeader=Authorization: Basic eC1hY2Nlc3M=' push"
    assert redact(header) == "git -c 'http.extraHeader=Authorization: Basic ***' push"
