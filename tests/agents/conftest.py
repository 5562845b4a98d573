"""Fixtures for the agent adapter tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_testkit import ChatServer, FakeCli, Reply, make_fake_cli


@pytest.fixture
def fake_cli(tmp_path: Path) -> Callable[..., FakeCli]:
    """Factory: fake_cli(name='claude', stdout=[…], stderr=[…], exit_code=0, sleep_s=0)."""

    def make(name: str = "claude", **scenario: Any) -> FakeCli:
        return make_fake_cli(tmp_path / f"fake-{name}", name, scenario)

    return make


@pytest.fixture
def chat_server() -> Iterator[Callable[[list[Reply]], ChatServer]]:
    """Factory: a started fake Chat Completions server with scripted replies."""
    started: list[ChatServer] = []

    def make(replies: list[Reply]) -> ChatServer:
        server = ChatServer(list(replies)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty working tree for one test."""
    path = tmp_path / "work"
    path.mkdir()
    return path
