"""Sandbox tokens (seed 000): what a work order's sandbox holds as SHIPYARD_TOKEN. Signed with
the server's key (HS256 JWT), scoped to one work order, expiring with it."""

from __future__ import annotations

from datetime import datetime

import jwt

from shipyard.domain.errors import Forbidden

_ALGORITHM = "HS256"
_AUDIENCE = "shipyard-sandbox"


def mint_sandbox_token(key: bytes, work_order_id: str, expires_at: datetime) -> str:
    """A token that lets its holder report on `work_order_id`, and on nothing else, until `expires_at`."""
    claims = {"sub": work_order_id, "aud": _AUDIENCE, "exp": int(expires_at.timestamp())}
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def sandbox_token_subject(key: bytes, token: str) -> str:
    """The work order a valid, unexpired token is for; Forbidden saying why otherwise."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[_ALGORITHM], audience=_AUDIENCE, options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise Forbidden("the sandbox token has expired") from None
    except jwt.InvalidTokenError:
        raise Forbidden("not a valid sandbox token") from None
    subject = claims.get("sub")
    if not isinstance(subject, str):
        raise Forbidden("not a valid sandbox token")
    return subject
