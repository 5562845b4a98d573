"""How a JSON column is read back: as stored, unless it holds what would break a reader."""

from __future__ import annotations

import json

from shipyard.domain.jsontext import CUT, READ_DEPTH, nested_deeper
from shipyard.store.engine import read_json


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def test_a_payload_with_many_brackets_but_few_levels_reads_back_as_stored() -> None:
    user = {"login": "octocat", "id": 1, "urls": ["a", "b"], "site_admin": False}
    payload = {
        "action": "opened",
        "commits": [
            {"id": n, "author": user, "files": [{"name": f"f{n}", "stats": {"+": n}}]} for n in range(40)
        ],
        "text": "brackets in strings count for nothing: [[[[{{{{",
    }
    text = json.dumps(payload)
    assert text.count("[") + text.count("{") > READ_DEPTH  # past the cheap check
    assert read_json(text) == payload


def test_a_value_nested_past_the_read_depth_is_cut_there() -> None:
    deep = json.dumps({"action": "opened", "nested": json.loads("[" * 900 + "]" * 900)})
    value = read_json(deep)
    assert value["action"] == "opened"
    assert _depth(value) == READ_DEPTH
    assert CUT in json.dumps(value, ensure_ascii=False)


def test_a_value_too_deep_for_the_parser_is_cut_too() -> None:
    value = read_json('{"nested": ' + "[" * 5000 + "]" * 5000 + "}")
    assert _depth(value) == READ_DEPTH


def test_a_lone_surrogate_reads_as_a_replacement_character() -> None:
    value = read_json('{"note": "half \\ud800 a pair", "list": [1]}')
    assert value == {"note": "half \ufffd a pair", "list": [1]}


def test_nested_deeper_counts_levels_not_brackets() -> None:
    assert not nested_deeper([[1]] * 100, 2)
    assert nested_deeper([[[1]]], 2)
    assert not nested_deeper("[[[", 0)
