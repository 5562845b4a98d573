"""`review` and `reply` steps: what the validator says of bad ones, and how the lists an agent
gives them are read (each bad item named, so the step's failure says what to fix)."""

from __future__ import annotations

import textwrap

import pytest

from shipyard.domain.errors import InvalidInput, WorkflowInvalid
from shipyard.engine.forge_steps import _answer, _inline, _items
from shipyard.workflows.loader import load_definition_text


def invalid(text: str) -> str:
    with pytest.raises(WorkflowInvalid) as caught:
        load_definition_text(textwrap.dedent(text), "my.yaml")
    return caught.value.message


def test_a_review_reads_its_pull_request_from_a_declared_input() -> None:
    message = invalid("""\
        name: w
        steps:
          - id: post
            review: {body: "ok"}
        """)
    assert "steps[0] (post): review.pull_request: unknown input 'pr' (declared inputs: none)" in message


def test_a_reply_needs_its_list_and_reads_only_earlier_steps() -> None:
    assert "steps[0] (answer): reply.to: required" in invalid("""\
        name: w
        inputs: {pr: {type: number}}
        steps:
          - id: answer
            reply: {}
        """)
    message = invalid("""\
        name: w
        inputs: {pr: {type: number}}
        steps:
          - id: answer
            reply: {to: "{{ steps.fix.output.replies }}"}
        """)
    assert "steps[0] (answer): reply.to: steps.fix is not an earlier step of this workflow" in message


def test_a_review_step_has_no_place_in_a_loop() -> None:
    message = invalid("""\
        name: w
        inputs: {pr: {type: number}}
        steps:
          - id: again
            loop: {until: "true", max_iterations: 2}
            steps:
              - {id: post, review: {body: hi}}
        """)
    assert "step 'post': a loop runs run and prompt steps only" in message


def test_inline_comments_are_read_from_the_agents_list() -> None:
    [comment] = [
        _inline(item, "c[0]") for item in _items('[{"path": "/a.py", "line": "3", "body": "x"}]', "c")
    ]
    assert (comment.path, comment.line, comment.side, comment.body) == ("a.py", 3, "RIGHT", "x")
    assert _items("", "c") == []


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("a.py:3", "c[0]: expected an object with path, line and body"),
        ({"line": 3, "body": "x"}, "c[0]: path must be a file's path in the repository"),
        ({"path": "a.py", "line": 0, "body": "x"}, "c[0] (a.py): line must be a line number, not 0"),
        ({"path": "a.py", "line": 2, "body": " "}, "c[0] (a.py:2): body must be the comment's text"),
        ({"path": "a.py", "line": 2, "body": "x", "side": "up"}, "c[0] (a.py:2): side must be RIGHT or LEFT"),
    ],
)
def test_a_bad_inline_comment_is_named(item: object, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _inline(item, "c[0]")
    assert caught.value.message == says


def test_replies_name_the_comment_and_a_list_that_is_not_one_is_refused() -> None:
    assert _answer({"comment_id": "12", "body": "done"}, "r[0]") == (12, "done")
    with pytest.raises(InvalidInput, match=r"r\[0\]: comment_id must be a review comment's id, not None"):
        _answer({"body": "done"}, "r[0]")
    with pytest.raises(InvalidInput, match=r"reply\.to gave dict, not a list"):
        _items({"comment_id": 1}, "reply.to")
    with pytest.raises(InvalidInput, match=r"reply\.to gave text that is not a JSON list"):
        _items("fixed it", "reply.to")
