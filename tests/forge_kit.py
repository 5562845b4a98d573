"""The fake GitHub repository and token the GitHub forge's tests use (tests/forge/conftest.py
serves the fake and makes the forge on it), `new_app_key` for a GitHub App's, and `hosted`: a
repository on the fake GitHub with real git over HTTP behind it, for the end-to-end tests of work
orders on the github forge."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fakes.git_http import GitHttpServer
from fakes.github_api import FakeGitHub, build_app
from support import serving_in_thread

TOKEN = "ghp_forgeTOKEN0123456789abcdefABCDEF0123"
REPO = "acme/widgets"


def new_app_key() -> tuple[str, str]:
    """A fresh RSA key for a GitHub App: its private PEM (PKCS#1, as GitHub hands them out) and public PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


@dataclass
class GitHub:
    fake: FakeGitHub
    git: GitHttpServer
    url: str  # the repository's clone URL
    bare: Path  # the git server's bare repository

    def git_out(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.bare, check=True, capture_output=True, text=True
        ).stdout.strip()

    def push_branch(self, source: Path, branch: str) -> None:
        subprocess.run(["git", "push", "-q", str(self.bare), f"{branch}:{branch}"], cwd=source, check=True)


@contextmanager
def hosted(root: Path, source: Path, token: str, repo: str = REPO) -> Iterator[GitHub]:
    """`source` as GitHub repository `repo`, its bare clone under `root`: served by git over HTTP
    (with `token`) and the fake GitHub API (whose branches and merges are that git's), each in a
    thread of its own, so they answer a `shipyard serve` process as well as the test's own."""
    with GitHttpServer(root, tokens={token}) as server:
        url = server.add_repo(repo, source=source)
        bare = root / f"{repo}.git"
        fake = FakeGitHub(tokens={token}, git_dirs={repo: bare})
        fake.add_repo(repo)
        with serving_in_thread(build_app(fake)) as api_url:
            fake.base_url = api_url
            yield GitHub(fake, server, url, bare)
