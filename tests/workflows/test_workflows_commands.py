from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.domain.errors import WorkflowInvalid
from shipyard.workflows.commands import (
    apply_arguments,
    list_commands,
    load_command,
    strip_front_matter,
)

WriteFile = Callable[[str, str], Path]  # the `write` fixture of conftest.py


def test_front_matter_is_stripped() -> None:
    assert strip_front_matter("---\ndescription: x\n---\n\nBody\n") == "Body\n"
    assert strip_front_matter("---\n---\nBody") == "Body"
    assert strip_front_matter("\ufeff---\r\na: b\r\n---\r\nBody") == "Body"
    assert strip_front_matter("Body\n---\nnot front matter\n---\n") == "Body\n---\nnot front matter\n---\n"


def test_arguments_substitution() -> None:
    assert apply_arguments("Do $ARGUMENTS now; first $1, second $2, none $3.", "fix  bug") == (
        "Do fix  bug now; first fix, second bug, none ."
    )
    # Placeholder-like text inside the arguments is not substituted again.
    assert apply_arguments("$1 / $ARGUMENTS", "$2 $ARGUMENTS") == "$2 / $2 $ARGUMENTS"


def test_arguments_are_appended_when_there_is_no_placeholder() -> None:
    assert apply_arguments("Review the code.\n", "focus on auth") == "Review the code.\n\nfocus on auth"
    assert apply_arguments("Review the code.\n", "  ") == "Review the code.\n"


def test_nested_and_namespaced_names(repo: Path, write: WriteFile) -> None:
    write(".claude/commands/frontend/review.md", "Review $ARGUMENTS")
    assert load_command(repo, "/frontend/review", "ui") == "Review ui"
    assert load_command(repo, "frontend:review", "ui") == "Review ui"
    assert list_commands(repo) == ["/frontend/review"]


@pytest.mark.parametrize("name", ["/../secret", "/a/../../b", "", "/x//y", "/.hidden"])
def test_names_cannot_leave_the_commands_folder(repo: Path, name: str) -> None:
    with pytest.raises(WorkflowInvalid, match="invalid command name"):
        load_command(repo, name)


def test_symlink_out_of_the_repository_is_refused(repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    (repo / ".claude" / "commands").mkdir(parents=True)
    (repo / ".claude" / "commands" / "leak.md").symlink_to(secret)
    with pytest.raises(WorkflowInvalid, match="points outside the repository"):
        load_command(repo, "/leak")


def test_missing_command(repo: Path) -> None:
    with pytest.raises(WorkflowInvalid, match=r"command '/plan' not found: .*/\.claude/commands/plan\.md$"):
        load_command(repo, "/plan")
    assert list_commands(repo) == []
