"""Installing agent CLIs into the data dir (real pip into a real venv) and finding them there."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

from shipyard.agents._util import binary_version
from shipyard.agents.claude import ClaudeAgent, bundled_claude
from shipyard.agents.codex import CodexAgent
from shipyard.agents.install import (
    INSTALLABLE,
    InstallableCli,
    cli_path,
    find_agent_binary,
    install,
    installable,
)
from shipyard.config import Settings
from shipyard.domain.errors import InstallError, InvalidInput

COWSAY = InstallableCli("cowsay", "pypi", "cowsay", "cowsay")  # tiny, pure Python, a console script


def venv_version(binary: str, package: str) -> str:
    """The version of `package` installed in the venv `binary` belongs to."""
    python = Path(binary).parent / "python"
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def executable(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{version}'\n")
    path.chmod(0o755)
    return path


def test_a_pypi_cli_goes_into_a_venv_of_its_own_and_again_changes_its_version(tmp_path: Path) -> None:
    lines: list[str] = []
    binary = install(COWSAY, tmp_path, "6.0", on_line=lines.append)
    assert binary == str(tmp_path / "agents" / "cowsay" / "bin" / "cowsay")
    assert venv_version(binary, "cowsay") == "6.0"  # cowsay 6.0 has no --version
    assert lines[0] == f"creating a virtual environment in {tmp_path / 'agents' / 'cowsay'}"
    assert f"pip install cowsay==6.0 into {tmp_path / 'agents' / 'cowsay'}" in lines
    assert importlib.util.find_spec("cowsay") is None  # Shipyard's environment is untouched
    lines.clear()
    assert install(COWSAY, tmp_path, on_line=lines.append) == binary  # upgrades in the same venv
    assert (venv_version(binary, "cowsay"), binary_version(binary)) == ("6.1", "6.1")
    assert not any(line.startswith("creating") for line in lines)


def test_a_failed_pip_install_says_so_with_the_tail_of_its_output(tmp_path: Path) -> None:
    missing = InstallableCli("nothing", "pypi", "shipyard-no-such-package-xyz", "nothing")
    with pytest.raises(InstallError) as caught:
        install(missing, tmp_path, on_line=lambda _: None)
    assert caught.value.message.startswith("pip failed (exit 1): ")
    assert "No matching distribution found for shipyard-no-such-package-xyz" in caught.value.message


def test_npm_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InstallError, match=r"codex comes from npm, and npm is not on PATH: install Node\.js"):
        install(INSTALLABLE["codex"], tmp_path / "data", on_line=lambda _: None)


def test_an_unknown_name_lists_the_installable_ones() -> None:
    with pytest.raises(InvalidInput, match="no installable agent 'nope'; installable: claude, codex, open"):
        installable("nope")


def test_the_data_dir_copy_comes_before_path_unless_the_setting_names_a_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    on_path = executable(tmp_path / "bin" / "codex", "codex-cli 0.1.0")
    monkeypatch.setenv("PATH", f"{on_path.parent}{os.pathsep}{os.environ['PATH']}")
    assert find_agent_binary(data_dir, "codex", "codex") == str(on_path)  # nothing installed yet
    installed = executable(cli_path(data_dir, INSTALLABLE["codex"]), "codex-cli 0.2.0")
    assert find_agent_binary(data_dir, "codex", "codex") == str(installed)
    assert find_agent_binary(data_dir, "codex", str(on_path)) == str(on_path)  # an explicit path wins
    agent = CodexAgent(Settings(data_dir=data_dir), environ={"CODEX_HOME": str(tmp_path / "no-home")})
    assert agent.binary() == str(installed)
    assert agent.check().version == "codex-cli 0.2.0"


def test_claude_runs_the_data_dir_copy_before_the_bundled_one_unless_a_binary_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no `claude` on PATH
    data_dir = tmp_path / "data"
    assert ClaudeAgent(Settings(data_dir=data_dir)).binary() == bundled_claude() is not None
    installed = executable(cli_path(data_dir, INSTALLABLE["claude"]), "2.0.0 (Claude Code)")
    assert ClaudeAgent(Settings(data_dir=data_dir)).binary() == str(installed)
    chosen = executable(tmp_path / "elsewhere" / "claude", "1.0.0 (Claude Code)")
    assert ClaudeAgent(Settings(data_dir=data_dir, claude_binary=str(chosen))).binary() == str(chosen)


def test_an_installer_that_hangs_is_stopped_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "npm", "unused").write_text("#!/bin/sh\necho fetching\nexec sleep 30\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    lines: list[str] = []

    with pytest.raises(InstallError) as caught:
        install(INSTALLABLE["codex"], tmp_path / "data", on_line=lines.append, timeout_s=1)

    assert caught.value.message == "npm did not finish within 1 s and was stopped"
    assert "fetching" in lines


def test_a_second_install_into_one_data_dir_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "agents").mkdir(parents=True)
    holder = subprocess.Popen(  # another process holding the lock, as a running install does
        ["python3", "-c", "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX);"
         " print('held', flush=True); time.sleep(30)", str(data / "agents" / ".install.lock")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(InstallError) as caught:
            install(COWSAY, data, on_line=lambda line: None)
    finally:
        holder.kill()
        holder.wait()

    assert caught.value.message.startswith("another `shipyard agents install` is running in")
    assert not (data / "agents" / "cowsay").exists()  # nothing was started
