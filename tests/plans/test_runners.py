"""The runner registry (seed 004): the built-in `sandbox_kilo`, runners from shipyard.toml, the
default picked by SHIPYARD_CODING_AGENT_RUNNER (or seed 004's own CODING_AGENT_RUNNER), and the
settings refused when a remote runner has nowhere to send its jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from shipyard.config import Settings
from shipyard.domain.errors import InvalidInput
from shipyard.plans.runners import all_runners, runner_for

TOML = """
coding_agent_runner = "codex_docker"

[runners.codex_docker]
agent = "codex"
sandbox = "docker"
workflow = "my_fix"

[runners.legacy]
kind = "remote"
url = "https://executor.example/jobs"
secret = "s3cret-signing-key"
timeout_s = 120
"""


def test_runners_come_from_shipyard_toml_beside_the_built_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shipyard.toml").write_text(TOML)
    settings = Settings(data_dir=tmp_path / "data")
    assert [r.name for r in all_runners(settings)] == ["codex_docker", "legacy", "sandbox_kilo"]
    docker = runner_for(settings)  # the default, from the file
    assert (docker.agent, docker.sandbox, docker.config.workflow) == ("codex", "docker", "my_fix")
    assert docker.describe() == "codex in a docker sandbox"
    legacy = runner_for(settings, "legacy")
    assert legacy.remote and legacy.config.timeout_s == 120
    assert legacy.describe() == "remote executor at https://executor.example/jobs"
    assert "s3cret" not in repr(legacy)  # the signing key is a secret


def test_the_built_in_runner_is_kilocode_in_the_default_sandbox_or_e2b_when_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plain = runner_for(Settings(data_dir=tmp_path, sandbox="bwrap"))
    assert (plain.name, plain.agent, plain.sandbox) == ("sandbox_kilo", "kilocode", "bwrap")
    e2b = runner_for(Settings(data_dir=tmp_path, e2b_api_key=SecretStr("e2b_key")))
    assert e2b.sandbox == "e2b"
    monkeypatch.setenv("CODING_AGENT_RUNNER", "nonesuch")  # seed 004's name for the variable
    with pytest.raises(InvalidInput, match="unknown runner 'nonesuch'; known: sandbox_kilo"):
        runner_for(Settings(data_dir=tmp_path))


def test_a_remote_runner_without_a_url_is_refused_with_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shipyard.toml").write_text('[runners.legacy]\nkind = "remote"\n')
    with pytest.raises(ValidationError, match="a remote runner needs `url`"):
        Settings(data_dir=tmp_path / "data")
