"""Role profiles (agents/roles.py), the store's overrides of them, and the context packs a role's
agent finds in its sandbox (agents/context.py), on both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from shipyard.agents import context
from shipyard.agents.roles import applied, builtin_doc, builtin_profile, builtin_profiles, check_pack
from shipyard.domain.models import WorkOrderStatus
from shipyard.domain.work_orders import WorkOrder, WorkOrderChange
from shipyard.logging import Redactor
from shipyard.store.store import Store

MakeWorkOrder = Callable[..., Awaitable[WorkOrder]]
TOKEN = "ghp_" + "A1b2C3d4E5" * 4  # a GitHub token's shape, known to nothing


def test_the_twelve_roles_each_with_a_shipped_onboarding_document() -> None:
    profiles = builtin_profiles()
    assert sorted(profiles) == sorted([
        "spec-writer", "roadmap-decomposer", "acceptance-criteria-author", "issue-planner",
        "developer-implementer", "refactorer", "test-author", "code-reviewer", "qa-tester",
        "security-auditor", "release-manager", "infra-deploy-engineer",
    ])  # fmt: skip
    for profile in profiles.values():
        assert profile.onboarding_doc_ref and builtin_doc(profile.onboarding_doc_ref), profile.type
        assert profile.context_packs[0] == "onboarding." + profile.onboarding_doc_ref[11:-3]
    reviewer = builtin_profile("code-reviewer")
    assert "edit" not in reviewer.tools
    assert "You may not change any file" in reviewer.instructions()


@pytest.mark.parametrize("pack", ["../secrets", "/etc/passwd", "recentLogs:0", "priorPRs:21", "x:1", ""])
def test_a_context_pack_that_is_no_pack_is_refused(pack: str) -> None:
    with pytest.raises(ValueError, match="context pack"):
        check_pack(pack)


async def test_overrides_apply_install_wide_then_per_project_and_merge(store: Store) -> None:
    await store.put_role_override("code-reviewer", None, {"context_packs": ["adrs"], "agent": "codex"})
    await store.put_role_override("code-reviewer", "p-1", {"enabled": False})
    await store.put_role_override("code-reviewer", None, {"onboarding_doc": "# Ours"})  # merges
    found = await store.role_overrides("p-1")
    assert found["code-reviewer"] == [
        {"context_packs": ["adrs"], "agent": "codex", "onboarding_doc": "# Ours"},
        {"enabled": False},
    ]
    profile = applied(builtin_profile("code-reviewer"), *found["code-reviewer"])
    assert (profile.context_packs, profile.agent, profile.enabled) == (["adrs"], "codex", False)
    assert (await store.role_overrides(None))["code-reviewer"][0]["agent"] == "codex"
    assert (
        "code-reviewer" not in await store.role_overrides("p-2")
        or len((await store.role_overrides("p-2"))["code-reviewer"]) == 1
    )


async def test_context_packs_are_gathered_bounded_and_redacted(
    store: Store, make_work_order: MakeWorkOrder, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / "onboarding").mkdir(parents=True)
    (repo / "onboarding" / "reviewer.md").write_text("# Our own rubric\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "notes.md").write_text(f"deploy with {TOKEN} and s3cr3t-value\n")
    (repo / "docs" / "big.md").write_text("x" * (context.MAX_FILE_CHARS + 500))
    url = "https://github.com/acme/roles"
    failed = await make_work_order(repository_url=url)
    await store.update_work_order(failed.id, WorkOrderChange(status=WorkOrderStatus.RUNNING))
    await store.update_work_order(
        failed.id, WorkOrderChange(status=WorkOrderStatus.FAILED, error_message="tests failed: test_login")
    )
    await store.append_event(failed.id, "workflow.step.failed", {"error": "pytest exited 1"})
    with_pr = await make_work_order(repository_url=url)
    await store.update_work_order(
        with_pr.id, WorkOrderChange(github_pull_request_url="https://github.com/acme/roles/pull/7")
    )
    current = await make_work_order(repository_url=url)
    profile = applied(
        builtin_profile("code-reviewer"),
        {
            "context_packs": [
                "onboarding.reviewer",
                "onboarding.release",
                "docs/*.md",
                "recentLogs:2",
                "priorPRs:2",
            ]
        },
    )

    files = await context.gather(profile, repo, store, current, Redactor(["s3cr3t-value"]).text)

    by_name = {f.name: f for f in files}
    assert list(by_name) == [
        "README.md", "onboarding.reviewer.md", "onboarding.release.md", "repo/docs/big.md",
        "repo/docs/notes.md", "recent-logs.md", "prior-prs.md",
    ]  # fmt: skip
    assert by_name["onboarding.reviewer.md"].text == "# Our own rubric\n"  # the repository's own wins
    assert by_name["onboarding.release.md"].text == builtin_doc("onboarding/release.md")
    notes = by_name["repo/docs/notes.md"]
    assert TOKEN not in notes.text and "s3cr3t-value" not in notes.text and notes.redacted == 2
    big = by_name["repo/docs/big.md"]
    assert big.cut and big.text.endswith(f"[cut: the first {context.MAX_FILE_CHARS} characters]\n")
    assert (
        failed.id in by_name["recent-logs.md"].text
        and "tests failed: test_login" in by_name["recent-logs.md"].text
    )
    assert "pytest exited 1" in by_name["recent-logs.md"].text
    assert current.id not in by_name["recent-logs.md"].text
    assert "https://github.com/acme/roles/pull/7" in by_name["prior-prs.md"].text
    index = by_name["README.md"].text
    assert "| repo/docs/big.md | docs/*.md |" in index and "cut" in index and "2 secrets hidden" in index

    root = context.write(repo, files)
    assert (root / "repo" / "docs" / "notes.md").is_file()
    context.remove(repo)
    assert not (repo / ".shipyard").exists()
