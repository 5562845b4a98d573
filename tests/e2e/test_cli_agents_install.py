"""`shipyard agents install` as a user runs it: the real Codex CLI from npm (its cache, which the
suite's CLI install fills) into the data dir, then `agents ls` and `doctor` find it there."""

from __future__ import annotations

import re
from pathlib import Path

from cli_kit import shipyard
from shipyard.agents.install import INSTALLABLE


def npm_cache() -> str:
    """The npm cache of the user running the suite (a test's own HOME would start an empty one)."""
    return str(Path.home() / ".npm")


def test_install_codex_then_ls_shows_it_installed_without_credentials(tmp_path: Path) -> None:
    data = tmp_path / "data"
    home = tmp_path / "home"
    home.mkdir()
    npm = {"npm_config_cache": npm_cache(), "npm_config_prefer_offline": "true"}
    installed = shipyard(data, "agents", "install", "codex", HOME=str(home), **npm)
    assert installed.returncode == 0, installed.stderr
    binary = data / "agents" / "npm" / "node_modules" / ".bin" / "codex"
    lines = installed.stdout.splitlines()
    assert lines[0] == "installing @openai/codex from npm (it can take a minute)"
    assert lines[1] == f"  npm install @openai/codex@latest into {data / 'agents' / 'npm'}"
    last = re.fullmatch(r"installed codex (codex-cli \d+\.\d+\.\d+): (\S+)", lines[-1])
    assert last is not None and last[2] == str(binary)

    # No key and no login: installed, with its version, but not ready.
    nothing = {"OPENAI_API_KEY": None, "SHIPYARD_OPENAI_API_KEY": None, "CODEX_HOME": None}
    listed = shipyard(data, "agents", "ls", HOME=str(home), SHIPYARD_CODEX_BINARY=None, **nothing)
    row = next(line for line in listed.stdout.splitlines() if line.split()[:1] == ["codex"])
    assert f" no credentials  {last[1]} " in row
    doctor = shipyard(data, "doctor", HOME=str(home), **nothing)
    assert f"agent codex          no credentials, {last[1]}, set OPENAI_API_KEY" in doctor.stdout
    assert doctor.stdout.split("agent codex", 1)[1].splitlines()[0].endswith(f"`codex login`, {binary}")

    again = shipyard(data, "agents", "install", "codex", HOME=str(home), **npm)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == lines[-1]


def test_an_unknown_agent_lists_the_installable_ones(tmp_path: Path) -> None:
    helped = shipyard(tmp_path / "data", "agents", "install", "--help")
    assert f"{', '.join(list(INSTALLABLE)[:-1])} or {list(INSTALLABLE)[-1]}." in helped.stdout  # the table's
    done = shipyard(tmp_path / "data", "agents", "install", "nope")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: no installable agent 'nope'; installable: claude, codex, opencode, kilocode, gemini, aider"
    )


def test_without_npm_it_says_so(tmp_path: Path) -> None:
    done = shipyard(tmp_path / "data", "agents", "install", "gemini", PATH=str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: gemini comes from npm, and npm is not on PATH: install Node.js (with npm)"
    )
    assert not (tmp_path / "data" / "agents").exists()
