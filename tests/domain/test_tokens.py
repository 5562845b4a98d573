"""Sandbox tokens: one work order's, until it expires, signed with the server's key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipyard.domain.errors import Forbidden
from shipyard.domain.tokens import mint_sandbox_token, sandbox_token_subject

KEY = b"k" * 48
LATER = datetime.now(UTC) + timedelta(hours=1)


def test_a_token_names_its_work_order() -> None:
    assert sandbox_token_subject(KEY, mint_sandbox_token(KEY, "wo-12345678", LATER)) == "wo-12345678"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (mint_sandbox_token(KEY, "wo-12345678", datetime.now(UTC) - timedelta(seconds=5)), "expired"),
        (mint_sandbox_token(b"another key" * 4, "wo-12345678", LATER), "not a valid"),
        ("not.a.token", "not a valid"),
        ("", "not a valid"),
    ],
)
def test_expired_forged_and_garbled_tokens_are_refused(token: str, reason: str) -> None:
    with pytest.raises(Forbidden, match=reason):
        sandbox_token_subject(KEY, token)
