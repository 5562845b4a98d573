"""Real git repositories in tmp_path for the gitutil tests."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fakes.git_http import GitHttpServer

Sh = Callable[..., str]

_TEST_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.test",
}


def run(cwd: Path, *args: str) -> str:
    """Run git synchronously as a user would; the test's independent view of the repository."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_TEST_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_origin(path: Path, branch: str = "main") -> Path:
    """A non-bare repository with two commits on `branch` and a `develop` branch."""
    path.mkdir(parents=True)
    run(path, "init", "--quiet", "--initial-branch", branch)
    write(path / "README.md", "# widgets\n")
    run(path, "add", "-A")
    run(path, "commit", "--quiet", "-m", "initial")
    write(path / "app.py", "print('hello')\n")
    run(path, "add", "-A")
    run(path, "commit", "--quiet", "-m", "add app")
    run(path, "branch", "develop")
    return path


@pytest.fixture
def sh() -> Sh:
    return run


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path / "origin")


@pytest.fixture
def new_origin(tmp_path: Path) -> Callable[..., Path]:
    """Makes further origin repositories: `new_origin("name", branch="trunk")`."""
    return lambda name, branch="main": make_origin(tmp_path / name, branch)


class _GitHttpHandler(BaseHTTPRequestHandler):
    """Smart-HTTP git over `git http-backend`, behind Basic auth, like a forge."""

    project_root: Path
    credentials: str  # "user:token", base64-encoded by the client

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        self._serve(self._body())

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))
        chunks = []
        while size := int(self.rfile.readline().strip(), 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def _serve(self, body: bytes) -> None:
        expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        cgi_env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(self.project_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "tester",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        if self.headers.get("Content-Encoding"):
            cgi_env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        done = subprocess.run(["git", "http-backend"], input=body, env=cgi_env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "status":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def http_origin(tmp_path: Path) -> Iterator[str]:
    """`origin` as a bare repository served over HTTP; the URL carries the needed credentials."""
    root = tmp_path / "served"
    root.mkdir()
    source = make_origin(tmp_path / "http-src")
    run(root, "clone", "--quiet", "--bare", str(source), "widgets.git")
    handler = type("Handler", (_GitHttpHandler,), {"project_root": root, "credentials": "bot:tok3n"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://bot:tok3n@127.0.0.1:{server.server_address[1]}/widgets.git"
    server.shutdown()
    server.server_close()


@pytest.fixture
def git_http(tmp_path: Path) -> Iterator[GitHttpServer]:
    """A forge's smart-HTTP git on loopback; add accepted tokens to `.tokens`, repos with `add_repo`."""
    with GitHttpServer(tmp_path / "git-http") as server:
        yield server
