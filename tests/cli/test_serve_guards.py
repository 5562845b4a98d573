"""`shipyard serve` and `shipyard worker` refuse settings that would leave the server unguarded,
in one line, before anything starts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_kit import shipyard


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port held open on every address: should a check let `serve` through, it stops at once
    (cannot listen) instead of serving for ever."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("0.0.0.0", 0))
    holder.listen(1)
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@pytest.mark.parametrize("token", ["", "   ", "fifteen-chars!!"])
def test_an_empty_or_short_token_stops_serve_and_worker(tmp_path: Path, taken_port: int, token: str) -> None:
    for command in (["serve", "--port", str(taken_port)], ["worker"]):
        done = shipyard(tmp_path, *command, SHIPYARD_API_TOKEN=token)
        said = (done.stdout + done.stderr).strip()
        assert done.returncode != 0, said
        assert "refusing to start: SHIPYARD_API_TOKEN" in said and "at least 16" in said, said
        assert len(said.splitlines()) == 1, said


def test_listening_beyond_loopback_needs_a_real_token(tmp_path: Path, taken_port: int) -> None:
    for token in (None, ""):
        done = shipyard(
            tmp_path, "serve", "--host", "0.0.0.0", "--port", str(taken_port), SHIPYARD_API_TOKEN=token
        )
        said = (done.stdout + done.stderr).strip()
        assert done.returncode != 0 and "SHIPYARD_API_TOKEN" in said and "cannot listen" not in said, said
