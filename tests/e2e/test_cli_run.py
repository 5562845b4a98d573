"""`shipyard run`, `show`, `ls`, `logs` as a user runs them, with an embedded engine: in-process on
this test's task queue, and Ctrl-C as a real process with its own Temporal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agents.agent_testkit import make_fake_cli
from cli_kit import shipyard
from shipyard.config import Settings
from support import MakeRepo, git, interruptible, nap, napping

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


@pytest.fixture
def engine(settings: Settings) -> dict[str, str]:
    """What an embedded `shipyard run` needs to use this test's Temporal server and task queue."""
    assert settings.temporal_address is not None
    return {
        "SHIPYARD_TEMPORAL_ADDRESS": settings.temporal_address,
        "SHIPYARD_TASK_QUEUE": settings.task_queue,
    }


def work_order_id(output: str) -> str:
    return next(word for word in output.split() if word.startswith("wo-") and len(word) == 11)


def write_flow(tmp_path: Path, steps: list[dict[str, object]]) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump({"name": "cli_flow", "steps": steps}))
    return path


def test_run_shell_prompt_commits_and_show_matches_git(
    make_repo: MakeRepo, tmp_path: Path, settings: Settings, engine: dict[str, str]
) -> None:
    repo = make_repo()
    flow = write_flow(
        tmp_path,
        [
            {
                "id": "write",
                "phase": "implementing",
                "prompt": "printf 'one\\ntwo\\nthree\\n' > notes.md && sed -i 's/demo/DEMO/' README.md",
                "commit": "docs: add notes",
            }
        ],
    )
    data = settings.data_dir
    done = shipyard(data, "run", str(repo), "--workflow-file", str(flow), "--agent", "shell", **engine)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
    wid = work_order_id(done.stdout)

    shown = shipyard(data, "show", wid, "--json")
    assert shown.returncode == 0, shown.stderr
    wo = json.loads(shown.stdout)
    branch = wo["git_branch_name"]
    assert branch.startswith(f"wo/{wid}")
    trailer = git(repo, "log", "-1", "--format=%(trailers:key=Shipyard-Phase,valueonly)", branch)
    assert trailer.strip() == "implementing"
    assert git(repo, "rev-list", "--count", f"main..{branch}").strip() == str(wo["git_commit_count"]) == "1"
    shortstat = git(repo, "diff", "--shortstat", f"main...{branch}").strip()
    expected = (
        f"{wo['git_files_changed']} files changed, {wo['git_lines_added']} insertions(+),"
        f" {wo['git_lines_removed']} deletion(-)"
    )
    assert shortstat == expected
    assert wo["steps"][0]["status"] == "completed"

    listed = shipyard(data, "ls")
    assert wid in listed.stdout and "completed" in listed.stdout
    logs = shipyard(data, "logs", wid)
    assert "git.commit" in logs.stdout and "workflow.completed" in logs.stdout
    jsonl = list((data / "logs").glob(f"*/{wid}.jsonl"))
    assert len(jsonl) == 1
    lines = [json.loads(line) for line in jsonl[0].read_text().splitlines()]
    assert all(line["agent_work_order_id"] == wid for line in lines)


def test_run_exits_nonzero_when_the_work_order_fails(
    make_repo: MakeRepo, tmp_path: Path, settings: Settings, engine: dict[str, str]
) -> None:
    repo = make_repo()
    flow = write_flow(tmp_path, [{"id": "broken", "run": "echo nope >&2; exit 7"}])
    done = shipyard(settings.data_dir, "run", str(repo), "--workflow-file", str(flow), **engine)
    assert done.returncode == 1
    assert "failed" in done.stdout and "exit code 7" in done.stdout


def test_a_failed_step_is_reported_without_a_traceback(
    make_repo: MakeRepo, tmp_path: Path, settings: Settings, engine: dict[str, str]
) -> None:
    repo = make_repo()
    flow = write_flow(tmp_path, [{"id": "broken", "run": "echo nope >&2; exit 7"}])
    env = {**os.environ, "SHIPYARD_DATA_DIR": str(settings.data_dir), **engine}
    done = subprocess.run(
        [SHIPYARD, "run", str(repo), "--workflow-file", str(flow)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error: step 'broken' failed: exit code 7: nope" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_show_prints_the_agent_steps_usage_cost_session_and_output(
    make_repo: MakeRepo, tmp_path: Path, settings: Settings, engine: dict[str, str]
) -> None:
    session = "5f0c7f0e-8d1e-4d5b-9a4e-2b7e6c1d9a10"
    answer = "Added CHANGELOG.md with the 1.2.0 entry.\nThe [Unreleased] section is empty now."
    usage = {"input_tokens": 10, "cache_creation_input_tokens": 1300, "cache_read_input_tokens": 32700}
    message = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5"}
    lines = [
        {"type": "system", "subtype": "init", "session_id": session, "model": "claude-sonnet-4-5"},
        {
            "type": "assistant",
            "message": {**message, "content": [{"type": "text", "text": answer}], "usage": usage},
            "parent_tool_use_id": None,
            "session_id": session,
        },
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": 3,
            "result": answer,
            "session_id": session,
            "total_cost_usd": 0.0123,
            "usage": {**usage, "output_tokens": 150},
        },
    ]
    claude = make_fake_cli(tmp_path / "fake-claude", "claude", {"stdout": lines})
    flow = write_flow(
        tmp_path,
        [
            {"id": "changelog", "prompt": "Add a changelog entry", "commit": "docs: changelog"},
            {"id": "review", "prompt": "Review it"},
            {"id": "check", "run": "true"},
        ],
    )
    data = settings.data_dir
    args = ["run", str(make_repo()), "--workflow-file", str(flow), "--agent", "claude"]
    done = shipyard(data, *args, SHIPYARD_CLAUDE_BINARY=str(claude.binary), **engine)
    assert done.returncode == 0, done.stdout + done.stderr

    shown = shipyard(data, "show", work_order_id(done.stdout)).stdout
    assert f"session            {session}" in shown
    assert (
        "usage              6 turns, 68,320 tokens (68,020 in of which 65,400 cached, 300 out), $0.02"
        in shown
    )
    step_usage = "claude  3 turns, 34,160 tokens (34,010 in of which 32,700 cached, 150 out), $0.01"
    assert shown.count(step_usage) == 2
    assert shown.count("Added CHANGELOG.md with the 1.2.0 entry.") == 2
    assert shown.count("The [Unreleased] section is empty now.") == 2


def test_claude_without_credentials_fails_fast_with_its_own_error(
    make_repo: MakeRepo, tmp_path: Path, settings: Settings, engine: dict[str, str]
) -> None:
    repo = make_repo()
    flow = write_flow(tmp_path, [{"id": "ask", "prompt": "Say hello"}])
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "ANTHROPIC_API_KEY": "", "SHIPYARD_ANTHROPIC_API_KEY": ""}
    args = ["run", str(repo), "--workflow-file", str(flow), "--agent", "claude"]
    done = shipyard(settings.data_dir, *args, **env, **engine)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Not logged in" in done.stdout
    wid = work_order_id(done.stdout)
    logs = shipyard(settings.data_dir, "logs", wid, "--limit", "500", **env)
    assert "Not logged in" in logs.stdout
    leftover = subprocess.run(["pgrep", "-f", str(repo)], capture_output=True, text=True, check=False)
    assert leftover.stdout.strip() == ""


def test_bad_input_from_the_cli(
    make_repo: MakeRepo, tmp_path: Path, settings: Settings, engine: dict[str, str]
) -> None:
    repo = make_repo()
    data = settings.data_dir
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: bad\nsteps:\n  - id: x\n    run: [unclosed\n")
    cases = [
        (["run", str(repo), "--workflow", "no_such_flow"], "unknown workflow 'no_such_flow'"),
        (["run", str(repo), "--workflow-file", str(bad_yaml)], "bad.yaml"),
        (["run", str(tmp_path / "missing"), "--workflow", "agent_workflow_plan"], "not found"),
        (["run", "~no-such-user-here/app", "--workflow", "x"], "no home directory is known for"),
        (
            [
                "run",
                str(repo),
                "--workflow",
                "agent_workflow_plan",
                "--agent",
                "gpt9",
                "-i",
                "prompt=x",
            ],
            "unknown agent 'gpt9'",
        ),
        (["run", str(repo), "--workflow", "agent_workflow_plan", "-i", "novalue"], "key=value"),
        (["run", str(repo), "--workflow", "agent_workflow_plan"], "needs input 'prompt'"),
        (["run", str(repo), "--workflow", "agent_workflow_plan", "-i", "promt=x"], "has no input 'promt'"),
        (["show", "wo-00000000"], "not found"),
        (["workflows", "show", "no_such_flow"], "unknown built-in workflow 'no_such_flow'"),
    ]
    for args, expected in cases:
        done = shipyard(data, *args, **engine)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert "starting an embedded engine" not in done.stdout, args  # refused before any engine


def test_workflows_and_agents_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    listed = shipyard(data, "workflows", "ls")
    for name in (
        "agent_workflow_plan",
        "agent_workflow_build",
        "agent_workflow_test",
        "agent_workflow_plan_build_test",
    ):
        assert name in listed.stdout
    assert shipyard(data, "workflows", "show", "agent_workflow_plan").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - id: one\n    run: x\n    timeout: forever\n")
    validated = shipyard(data, "workflows", "validate", str(bad))
    assert (
        validated.returncode == 1 and "steps[0] (one)" in validated.stdout and "timeout" in validated.stdout
    )
    assert validated.stdout.startswith(f"error {bad}: steps[0] (one)"), validated.stdout  # no markup shown
    # Claude Code installed (the bundled CLI) without credentials, codex not installed, shell ready.
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "SHIPYARD_CODEX_BINARY": "no-such-codex", "ANTHROPIC_API_KEY": None}
    agents = shipyard(data, "agents", "ls", **env, CLAUDE_CODE_OAUTH_TOKEN=None, CLAUDE_CONFIG_DIR=None)
    assert agents.returncode == 0
    names = ("shell", "claude", "codex", "openai", "replay")
    lines = [line for line in agents.stdout.splitlines() if line.strip()]
    rows = {line.split()[0]: line for line in lines if line.split()[0] in names}
    assert list(rows) == list(names)
    assert rows["shell"].split()[1] == "ready"
    assert " no credentials " in rows["claude"] and "(Claude Code)" in rows["claude"]
    assert " not installed " in rows["codex"] and "(shipyard agents install codex)" in rows["codex"]
    doctor = shipyard(data, "doctor")
    assert "git" in doctor.stdout and "temporal" in doctor.stdout and "database" in doctor.stdout
    # The fix runner jobs get by default: kilocode, which is not installed in this test's PATH.
    runner = next(line for line in doctor.stdout.splitlines() if "fix runner" in line)
    assert "sandbox_kilo: kilocode in a git_worktree sandbox (kilocode: not installed)" in runner
    wrong = shipyard(data, "doctor", SHIPYARD_CODING_AGENT_RUNNER="nonesuch")
    assert "SHIPYARD_CODING_AGENT_RUNNER: unknown runner 'nonesuch'; known: sandbox_kilo" in wrong.stdout


def test_ctrl_c_on_an_embedded_run_cancels_the_work_order(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo()
    marker = tmp_path / "started"
    sleep = nap(120)  # a sleep only this test starts
    flow = write_flow(tmp_path, [{"id": "nap", "run": f"touch {marker} && {sleep}"}])
    data = tmp_path / "data"
    env = {**os.environ, "SHIPYARD_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [SHIPYARD, "run", str(repo), "--workflow-file", str(flow)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the step never started"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    wid = work_order_id(out)
    wo = json.loads(shipyard(data, "show", wid, "--json").stdout)
    assert wo["status"] == "cancelled" and wo["error_message"] == "interrupted (Ctrl-C)"
    assert " workflow.cancelled" in shipyard(data, "logs", wid).stdout  # the log says so too
    assert not (data / "sandboxes" / wid).exists()
    assert not napping(sleep)
