"""What text and JSON Shipyard takes from outside, and how a stored value that breaks those rules
is read back. Refused at the door: lone surrogates (no UTF-8 can carry them), NUL characters (no
path, argv or PostgreSQL text can), non-finite numbers (JSON has none), integers beyond 64 bits,
strings over MAX_TEXT_CHARS and nesting deeper than MAX_DEPTH. Read back: a row stored before
these checks, with lone surrogates as U+FFFD and anything nested past READ_DEPTH cut off.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_TEXT_CHARS = 100_000  # a prompt, an input, any one string of a request
MAX_DEPTH = 32  # arrays and objects inside each other in a request
READ_DEPTH = 64  # stored values are cut below this (pydantic serialises ~250 levels at most)
MAX_SQL_INT = 2**63 - 1  # SQLite's INTEGER, PostgreSQL's BIGINT
MAX_SQL_INT32 = 2**31 - 1  # PostgreSQL's INTEGER
CUT = "… (nested too deep)"


def text_problem(value: str, where: str) -> str | None:
    """What is wrong with one string from outside, or None."""
    if len(value) > MAX_TEXT_CHARS:
        return f"{where} is longer than {MAX_TEXT_CHARS} characters"
    if "\x00" in value:
        return f"{where} contains a NUL character"
    if not _encodable(value):
        return f"{where} contains a lone surrogate (text that is not valid Unicode)"
    return None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scalar_problem(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return text_problem(value, where)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is not a finite number"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SQL_INT:
        return f"{where} is beyond a 64-bit integer"
    return None


def json_problem(value: Any) -> str | None:
    """The first thing wrong anywhere in a request's JSON (keys included), named by its path."""
    todo: list[tuple[str, Any, int]] = [("", value, 0)]
    while todo:
        where, item, depth = todo.pop()
        if isinstance(item, dict | list | tuple) and depth >= MAX_DEPTH:
            return f"{where or 'the body'} is nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (problem := text_problem(key, f"a key of {where or 'the body'}")):
                    return problem
                todo.append((f"{where}.{key}" if where else str(key), child, depth + 1))
        elif isinstance(item, list | tuple):
            todo.extend((f"{where}[{n}]", child, depth + 1) for n, child in enumerate(item))
        elif problem := _scalar_problem(item, where or "the body"):
            return problem
    return None


def readable(value: Any) -> Any:
    """A stored JSON value with its lone surrogates replaced, so every reader can encode it."""
    if isinstance(value, str):
        return value if _encodable(value) else _replaced(value)
    if isinstance(value, list):
        return [readable(v) for v in value]
    if isinstance(value, dict):
        return {readable(k): readable(v) for k, v in value.items()}
    return value


def _replaced(value: str) -> str:
    # UTF-16 pairs up what can be paired; each surrogate left alone becomes U+FFFD.
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value has arrays or objects nested more than `limit` deep."""
    todo = [(value, 1)] if isinstance(value, dict | list) else []
    while todo:
        item, depth = todo.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                todo.append((child, depth + 1))
    return False


# A JSON string (escapes and all), or one bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def cut_deep(text: str, limit: int = READ_DEPTH) -> str:
    """JSON text with each array or object nested deeper than `limit` replaced by the string CUT:
    text-level, so that text too deep for `json.loads` (a recursive parser) can be read at all."""
    parts, depth, start, kept = [], 0, -1, 0
    for token in _TOKEN.finditer(text):
        mark = token.group()
        if mark in ("[", "{"):
            depth += 1
            if depth == limit + 1:
                start = token.start()
        elif mark in ("]", "}"):
            if depth == limit + 1:
                parts += [text[kept:start], json.dumps(CUT)]
                kept = token.end()
            depth -= 1
    return "".join([*parts, text[kept:]])
