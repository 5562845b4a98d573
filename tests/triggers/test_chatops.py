from __future__ import annotations

import pytest

from shipyard.domain.errors import InvalidInput
from shipyard.triggers.chatops import Command, is_command, parse_command


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("/shipyard run agent_workflow_plan", True),
        ("\n  /shipyard run x\nmore text", True),
        ("/shipyard", True),
        ("/shipyardish run x", False),
        ("please /shipyard run x", False),
        ("", False),
    ],
)
def test_is_command_looks_at_the_first_line(comment: str, expected: bool) -> None:
    assert is_command(comment) is expected


def test_parse_command_reads_workflow_and_quoted_inputs() -> None:
    command = parse_command(
        '/shipyard run agent_workflow_plan prompt="add a --verbose flag" issue=12\nthanks!'
    )
    assert command == Command("agent_workflow_plan", {"prompt": "add a --verbose flag", "issue": "12"})


@pytest.mark.parametrize(
    ("comment", "problem"),
    [
        ("/shipyard", "unknown command"),
        ("/shipyard deploy prod", "unknown command"),
        ("/shipyard run plan notkeyvalue", "not key=value"),
        ('/shipyard run plan prompt="unclosed', "cannot read"),
    ],
)
def test_parse_command_explains_what_is_wrong(comment: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as caught:
        parse_command(comment)
    assert "/shipyard run <workflow>" in caught.value.message
