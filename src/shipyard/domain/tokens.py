"""Tokens signed with the server's key (HS256 JWT): sandbox tokens (seed 000), what a work order's
sandbox holds as SHIPYARD_TOKEN, scoped to one work order and expiring with it; and the `state` of a
GitHub App installation, which GitHub hands back to the callback."""

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


_INSTALL_AUDIENCE = "shipyard-github-app-install"


def mint_install_state(key: bytes, nonce: str, expires_at: datetime) -> str:
    """The `state` of a GitHub App installation Shipyard starts: signed, with `nonce`, until `expires_at`."""
    claims = {"jti": nonce, "aud": _INSTALL_AUDIENCE, "exp": int(expires_at.timestamp())}
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def check_install_state(key: bytes, state: str) -> None:
    """Forbidden saying why unless `state` is one this server signed for an installation, unexpired."""
    if not state:
        raise Forbidden(
            "the callback carries no state: start the installation from Shipyard (/auth/github-app/install)"
        )
    try:
        jwt.decode(
            state, key, algorithms=[_ALGORITHM], audience=_INSTALL_AUDIENCE, options={"require": ["exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise Forbidden(
            "the installation's state has expired: start again at /auth/github-app/install"
        ) from None
    except jwt.InvalidTokenError:
        raise Forbidden(
            "the state is not one this server gave: start again at /auth/github-app/install"
        ) from None
