"""The issue planner's answer against seed 002's tree rules (ideas/tree.py): what is made of a
good plan, and each way a plan can break the rules, said before any issue exists."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.domain.errors import InvalidInput
from shipyard.domain.ideas import IssueType, issue_branch, slug
from shipyard.ideas.tree import MAX_ISSUES, tree_from_plan


def t(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, **extra}


def test_features_hold_tasks_and_a_feature_without_tasks_is_a_task() -> None:
    plan = {"features": [t("Login", tasks=[t("Form"), t("Session")]), t("Readme fix", body="typo")]}
    [login, readme] = tree_from_plan(plan)
    assert (login.type, [c.title for c in login.children]) == (IssueType.FEATURE, ["Form", "Session"])
    assert all(c.type == IssueType.TASK for c in login.children)
    assert (readme.type, readme.body, readme.children) == (IssueType.TASK, "typo", [])


def test_a_sibling_that_depends_on_a_later_one_runs_after_it() -> None:
    plan = {"features": [t("Api", depends_on=[2]), t("Db"), t("Schema", depends_on=[1])]}
    ordered = tree_from_plan(plan)
    assert [f.title for f in ordered] == ["Db", "Schema", "Api"]
    assert [f.depends_on for f in ordered] == [[], [0], [1]]  # positions in the new order


@pytest.mark.parametrize(
    ("plan", "says"),
    [
        ({"features": []}, "features: List should have at least 1 item"),
        ({"features": [t("A", tasks=[t("B", tasks=[t("C")])])]}, "a task cannot hold tasks"),
        (
            {"features": [t("A", depends_on=[0])]},
            "features[0] (A): depends_on 0 is not another of its 1 siblings",
        ),
        (
            {"features": [t("A", depends_on=[1]), t("B", depends_on=[0])]},
            "the dependencies of 0 (A), 1 (B) form a cycle",
        ),
        ({"features": [t("A", tasks=[t("X", depends_on=[5])])]}, "features[0].tasks[0] (X): depends_on 5"),
        ({"features": [t("")]}, "features.0.title"),
        ({"epics": []}, "features: Field required"),
        ("not json", "the plan"),
    ],
)
def test_a_plan_that_breaks_the_rules_is_refused_saying_how(plan: Any, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        tree_from_plan(plan)
    assert says in caught.value.message


def test_a_plan_of_too_many_issues_is_refused() -> None:
    plan = {"features": [t(f"F{n}", tasks=[t("a"), t("b")]) for n in range(MAX_ISSUES // 3 + 1)]}
    with pytest.raises(InvalidInput, match=f"a run makes at most {MAX_ISSUES}"):
        tree_from_plan(plan)


def test_branches_follow_seed_002s_names() -> None:
    assert issue_branch(IssueType.EPIC, 3, "Greeting helpers!") == "epic/3-greeting-helpers"
    assert issue_branch(IssueType.TASK, 12, "Add /login (POST) handler") == "task/12-add-login-post-handler"
    assert slug("ünïcode ★") == "n-code" and slug("★") == "issue"
    assert len(slug("word " * 30)) <= 40 and not slug("word " * 30).endswith("-")
