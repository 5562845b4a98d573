"""Work orders through the real API, engine, Temporal dev server, git and store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import yaml

from shipyard.cli.server import RunningServer
from support import MakeRepo, git, nap, napping, wait_done

WRITE_AND_LIST = yaml.safe_dump(
    {
        "name": "write_and_list",
        "inputs": {"who": {"required": True}},
        "steps": [
            {
                "id": "write",
                "phase": "implementing",
                "run": "echo {{ inputs.who }} > {{ inputs.who }}.txt && sleep 1 && ls *.txt",
                "commit": "add {{ inputs.who }}",
            }
        ],
    }
)


async def create(api: httpx.AsyncClient, repo: Path, **body: object) -> dict[str, object]:
    body.setdefault("repository_url", str(repo))
    resp = await api.post("/api/agent-work-orders", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["agent_work_order"])


async def test_five_parallel_work_orders_on_one_repository(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    names = [f"w{i}" for i in range(5)]
    created = await asyncio.gather(
        *(create(api, repo, workflow_definition=WRITE_AND_LIST, inputs={"who": n}) for n in names)
    )
    done = await asyncio.gather(*(wait_done(api, str(wo["agent_work_order_id"])) for wo in created))
    branches = set()
    for name, wo in zip(names, done, strict=True):
        assert wo["status"] == "completed", wo["error_message"]
        branch = wo["git_branch_name"]
        branches.add(branch)
        # The branch (pushed back to the repository) holds exactly this order's file.
        files = git(repo, "ls-tree", "--name-only", branch).split()
        assert sorted(files) == ["README.md", f"{name}.txt"]
        steps = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/steps")).json()["steps"]
        assert steps[0]["output"].split() == [f"{name}.txt"]  # `ls` saw no other order's file
    assert len(branches) == 5
    assert not any(
        (Path(wo["repository_url"]) / f"{n}.txt").exists() for n, wo in zip(names, done, strict=True)
    )


async def test_progress_logs_and_pull_request(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    repo = make_repo()
    definition = yaml.safe_dump(
        {
            "name": "two_phases",
            "steps": [
                {
                    "id": "plan",
                    "phase": "planning",
                    "run": "mkdir -p specs && echo plan > specs/plan.md",
                    "commit": "plan",
                },
                {
                    "id": "build",
                    "phase": "implementing",
                    "run": "printf 'a\\nb\\n' > app.py",
                    "commit": "build",
                },
                {"id": "check", "run": "test -f app.py"},
                {"id": "pr", "pr": {"title": "Add the app"}},
            ],
        }
    )
    wo = await create(api, repo, workflow_definition=definition)
    done = await wait_done(api, str(wo["agent_work_order_id"]))
    assert done["status"] == "completed", done["error_message"]
    assert done["current_phase"] == "completed"
    wid = done["agent_work_order_id"]

    progress = (await api.get(f"/api/agent-work-orders/{wid}/git-progress")).json()
    assert progress["git_commit_count"] == 2
    assert [c["phase"] for c in progress["commits"]] == ["planning", "implementing"]
    assert [(p["phase"], p["commits"]) for p in progress["phase_history"]] == [
        ("planning", 1),
        ("implementing", 1),
    ]
    shortstat = git(repo, "diff", "--shortstat", f"main...{done['git_branch_name']}")
    assert shortstat.strip().startswith(f"{progress['git_files_changed']} files changed")
    assert progress["git_lines_added"] == done["git_lines_added"] == 3

    pr_url = done["github_pull_request_url"]
    assert pr_url and pr_url.startswith("/api/pull-requests/")
    pr = (await api.get(pr_url)).json()["pull_request"]
    assert (pr["title"], pr["head_branch"], pr["base_branch"], pr["commits"]) == (
        "Add the app",
        done["git_branch_name"],
        "main",
        2,
    )

    logs = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 3})).json()
    assert len(logs["log_entries"]) == 3 and logs["has_more"] and logs["total_count"] > 3
    assert logs["log_entries"][0]["event"] == "workflow.started"
    everything = (await api.get(f"/api/agent-work-orders/{wid}/logs", params={"limit": 1000})).json()
    types = [e["event"] for e in everything["log_entries"]]
    assert types.count("git.commit") == 2 and types[-1] == "workflow.completed"
    diff = (await api.get(f"/api/agent-work-orders/{wid}/diff")).text
    assert "+++ b/app.py" in diff


async def test_failed_step_fails_the_work_order_unless_continue_on_error(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()
    definition = yaml.safe_dump(
        {
            "name": "fails",
            "steps": [
                {"id": "lint", "run": "echo lint broke >&2; exit 3", "continue_on_error": True},
                {"id": "fix", "run": "echo fixing", "when": "steps.lint.status == 'failed'"},
                {"id": "skipme", "run": "echo never", "when": "steps.lint.status == 'completed'"},
                {"id": "boom", "run": "exit 4", "retries": 1},
                {"id": "after", "run": "echo unreachable"},
            ],
        }
    )
    wo = await create(api, repo, workflow_definition=definition)
    done = await wait_done(api, str(wo["agent_work_order_id"]))
    assert done["status"] == "failed"
    assert "step 'boom' failed: exit code 4" in done["error_message"]
    steps = {
        s["step_id"]: s
        for s in (await api.get(f"/api/agent-work-orders/{done['agent_work_order_id']}/steps")).json()[
            "steps"
        ]
    }
    assert steps["lint"]["status"] == "failed" and "lint broke" in steps["lint"]["error"]
    assert steps["fix"]["status"] == "completed"
    assert steps["skipme"]["status"] == "skipped"
    assert steps["boom"]["attempt"] == 2  # retried once
    assert "after" not in steps


async def test_step_timeout_kills_the_command(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    repo = make_repo()
    sleep = nap(300)
    definition = yaml.safe_dump({"name": "slow", "steps": [{"id": "nap", "run": sleep, "timeout": "2s"}]})
    wo = await create(api, repo, workflow_definition=definition)
    done = await wait_done(api, str(wo["agent_work_order_id"]), timeout_s=60)
    assert done["status"] == "failed" and "timed out after 2 s" in done["error_message"]
    assert not napping(sleep)


async def test_bad_input_gets_clear_4xx_errors(
    api: httpx.AsyncClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo()
    cases = [
        (
            {"repository_url": str(repo), "workflow_type": "no_such_flow"},
            "unknown workflow 'no_such_flow'",
        ),
        ({"repository_url": str(repo), "workflow_definition": "name: x\nsteps: [\n"}, "line"),
        (
            {"repository_url": str(tmp_path / "nope"), "workflow_type": "agent_workflow_plan"},
            "not found",
        ),
        (
            {"repository_url": str(repo), "workflow_type": "agent_workflow_plan", "agent": "gpt9"},
            "unknown agent 'gpt9'",
        ),
        ({"repository_url": str(repo), "workflow_type": "agent_workflow_plan"}, "prompt"),
        ({"workflow_type": "agent_workflow_plan"}, "repository_url"),
    ]
    for body, expected in cases:
        resp = await api.post("/api/agent-work-orders", json=body)
        assert 400 <= resp.status_code < 500, (body, resp.text)
        assert expected in resp.json()["error"]["message"], (body, resp.text)
    assert (await api.get("/api/agent-work-orders")).json()["total_count"] == 0  # nothing half-made
    missing = await api.get("/api/agent-work-orders/wo-00000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad_status = await api.get("/api/agent-work-orders", params={"status": "sideways"})
    assert bad_status.status_code == 422


async def test_workflow_defined_in_the_repository(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    flow = {
        "name": "house_style",
        "steps": [{"id": "touch", "run": "echo styled > STYLE", "commit": "style"}],
    }
    repo = make_repo(files={"README.md": "x\n", ".shipyard/workflows/house.yaml": yaml.safe_dump(flow)})
    wo = await create(api, repo, workflow_type="house_style")
    done = await wait_done(api, str(wo["agent_work_order_id"]))
    assert done["status"] == "completed", done["error_message"]
    assert done["git_commit_count"] == 1


async def test_health(api: httpx.AsyncClient) -> None:
    health = (await api.get("/api/health")).json()
    assert health["status"] == "ok" and health["database"] == "ok" and health["temporal"] == "ok"


async def test_unreachable_repository_fails_the_work_order_with_gits_message(
    api: httpx.AsyncClient, server: RunningServer
) -> None:
    # A remote URL cannot be checked up front: the order is created, then fails in its sandbox set-up.
    wo = await create(
        api,
        Path("unused"),
        repository_url="http://127.0.0.1:9/nowhere.git",
        workflow_type="agent_workflow_plan",
        inputs={"prompt": "x"},
    )
    done = await wait_done(api, str(wo["agent_work_order_id"]))
    assert done["status"] == "failed"
    assert "http://127.0.0.1:9/nowhere.git" in done["error_message"]
    assert "cannot clone" in done["error_message"]
    # The workflow itself finished it (not the reconciler, after the workflow failed).
    outcome = await server.engine.client.get_workflow_handle(str(wo["agent_work_order_id"])).result()
    assert outcome["status"] == "failed" and "cannot clone" in outcome["error"]
    logs = (await api.get(f"/api/agent-work-orders/{wo['agent_work_order_id']}/logs")).json()["log_entries"]
    assert [e["event"] for e in logs][-1] == "workflow.failed"


async def test_git_branch_sandbox_runs_in_a_fresh_clone(api: httpx.AsyncClient, make_repo: MakeRepo) -> None:
    repo = make_repo()
    definition = yaml.safe_dump(
        {
            "name": "clone",
            "steps": [{"id": "edit", "phase": "implementing", "run": "pwd > where.txt", "commit": "where"}],
        }
    )
    wo = await create(api, repo, workflow_definition=definition, sandbox_type="git_branch")
    done = await wait_done(api, str(wo["agent_work_order_id"]))
    assert done["status"] == "completed", done["error_message"]
    where = git(repo, "show", f"{done['git_branch_name']}:where.txt").strip()
    assert where != str(repo) and not Path(where).exists()  # it ran in its own clone, since removed


async def test_agent_usage_is_recorded_per_step_and_summed(
    api: httpx.AsyncClient, make_repo: MakeRepo
) -> None:
    repo = make_repo()

    def replay(name: str, tokens: int, cost: float) -> str:
        actions = [
            {"write": f"{name}.md", "content": f"# {name}\n"},
            {"usage": {"input_tokens": tokens, "output_tokens": tokens // 10, "cost_usd": cost}},
            {"message": f"{name} done"},
        ]
        return yaml.safe_dump({"replay": actions})

    definition = yaml.safe_dump(
        {
            "name": "two_agents",
            "steps": [
                {"id": "plan", "phase": "planning", "prompt": replay("plan", 1000, 0.25), "commit": "plan"},
                {
                    "id": "build",
                    "phase": "implementing",
                    "prompt": replay("build", 500, 0.5),
                    "commit": "build",
                },
                {"id": "echo", "run": "echo {{ steps.build.output }}"},
            ],
        }
    )
    wo = await create(api, repo, workflow_definition=definition, agent="replay")
    done = await wait_done(api, str(wo["agent_work_order_id"]))
    assert done["status"] == "completed", done["error_message"]
    assert done["usage"]["input_tokens"] == 1500 and done["usage"]["output_tokens"] == 150
    assert done["usage"]["cost_usd"] == 0.75
    steps = (await api.get(f"/api/agent-work-orders/{done['agent_work_order_id']}/steps")).json()["steps"]
    assert [s["usage_input_tokens"] for s in steps] == [1000, 500, 0]
    assert [s["agent"] for s in steps[:2]] == ["replay", "replay"]
    assert steps[2]["output"] == "build done"  # a later step read an earlier step's output
    assert done["git_commit_count"] == 2
