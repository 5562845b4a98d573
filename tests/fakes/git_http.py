"""A forge's git over smart HTTP for tests: `git http-backend` as CGI behind HTTP Basic auth.

Bare repositories under `root` are served at `http://127.0.0.1:<port>/<owner>/<name>.git`. Every
request needs Basic auth whose password is one of `tokens` (any username, as on GitHub); others
get 401 with `WWW-Authenticate`. Each request is recorded. Use it as a context manager:

    with GitHttpServer(tmp_path / "git-http", tokens={"t0ken"}) as server:
        url = server.add_repo("acme/widgets", source=local_repo)
"""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

# http-backend sees no user or system config; pushing is allowed to any authorized request.
_BACKEND_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_HTTP_EXPORT_ALL": "1",
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "http.receivepack",
    "GIT_CONFIG_VALUE_0": "true",
}


@dataclass(frozen=True)
class GitRequest:
    """One request the server received; `gzip` when its body came gzip-encoded."""

    method: str
    path: str
    username: str | None
    authorized: bool
    gzip: bool


class GitHttpServer:
    """Smart-HTTP git on a free loopback port, in a background thread."""

    def __init__(self, root: Path, tokens: set[str] | None = None) -> None:
        self.root = root
        self.tokens: set[str] = set(tokens or ())
        self.requests: list[GitRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> GitHttpServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None and self._thread is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def url(self, full_name: str) -> str:
        """The clone URL of repository `owner/name` (no credentials in it)."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{full_name}.git"

    def add_repo(self, full_name: str, source: Path | None = None) -> str:
        """Create bare repository `owner/name`, a bare clone of `source` if given; its URL."""
        bare = self.root / f"{full_name}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        if source is None:
            _git(self.root, "init", "--quiet", "--bare", "--initial-branch", "main", str(bare))
        else:
            _git(self.root, "clone", "--quiet", "--bare", "--no-local", str(source), str(bare))
        return self.url(full_name)

    def branches(self, full_name: str) -> dict[str, str]:
        """Branch name → commit sha of repository `owner/name`, as the server holds it."""
        bare = self.root / f"{full_name}.git"
        out = _git(bare, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
        return dict(line.split(" ", 1) for line in out.splitlines())

    def check(self, authorization: str) -> tuple[str | None, bool]:
        """The username in a Basic `authorization` header, and whether its password is accepted."""
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None, False
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, False
        return username, password in self.tokens


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        fake: GitHttpServer = self.server.fake  # type: ignore[attr-defined]
        body = self._body()
        username, authorized = fake.check(self.headers.get("Authorization", ""))
        encoding = self.headers.get("Content-Encoding", "")
        path, _, query = self.path.partition("?")
        fake.requests.append(GitRequest(self.command, path, username, authorized, "gzip" in encoding))
        if not authorized:
            self._reply(401, [("WWW-Authenticate", 'Basic realm="fake-github"')], b"")
            return
        cgi_env = {
            "PATH": os.environ.get("PATH", ""),
            **_BACKEND_ENV,
            "GIT_PROJECT_ROOT": str(fake.root),
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": encoding,  # http-backend inflates gzip bodies itself
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": username or "",
            "REMOTE_ADDR": self.client_address[0],
        }
        done = subprocess.run(["git", "http-backend"], input=body, env=cgi_env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers = [line.partition(": ")[::2] for line in head.decode().split("\r\n") if ": " in line]
        status = next((int(value.split()[0]) for key, value in headers if key.lower() == "status"), 200)
        kept = [(key, value) for key, value in headers if key.lower() not in ("status", "content-length")]
        self._reply(status, kept, payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))
        chunks = []
        while size := int(self.rfile.readline().strip(), 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout
