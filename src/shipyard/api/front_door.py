"""What every request meets first: the Host it names must be one this server is reached by (so a
DNS-rebinding page cannot talk to it), and every answer carries the browser's security headers."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.api.errors import error_response

# The dashboard loads its scripts and styles from /static; templates set widths in style="…"
# attributes and htmx adds a <style> of its own, hence 'unsafe-inline' for styles only.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from a CDN with an inline script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def host_name(host: str) -> str | None:
    """The name part of a Host header (no port, no brackets), lower-case; None when malformed."""
    try:
        parts = urlsplit(f"//{host}")
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return None
    return (parts.hostname or "").rstrip(".") or None


@functools.lru_cache(maxsize=1024)  # asked on every request; parsing an address is ~10 % of a small one
def is_loopback(name: str) -> bool:
    """localhost (and names under it, which browsers never look up), 127.0.0.0/8 and ::1."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_trusted(host: str, trusted: Iterable[str]) -> bool:
    """Whether a Host header (or an Origin's host:port) names this server."""
    name = host_name(host)
    return name is not None and (is_loopback(name) or name in trusted)


class FrontDoor:
    """ASGI middleware: 421 for a Host this server is not reached by; security headers on every answer.

    A request without a Host header passes: browsers always send one, and rebinding needs a browser.
    """

    def __init__(self, app: ASGIApp, trusted_hosts: frozenset[str]) -> None:
        self.app = app
        self.trusted = trusted_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headed = _with_headers(send, DOCS_POLICY if scope["path"].startswith(DOCS_PATHS) else PAGE_POLICY)
        host = Headers(scope=scope).get("host")
        if host is not None and not host_trusted(host, self.trusted):
            message = (
                f"this server is not reached as '{host}'; if it should be, add the name to "
                "SHIPYARD_ALLOWED_HOSTS"
            )
            await error_response(421, "misdirected_request", message)(scope, receive, headed)
            return
        await self.app(scope, receive, headed)


def _with_headers(send: Send, policy: str) -> Send:
    """`send`, adding the security headers an answer does not set itself."""
    extra = (*_HEADERS, (b"content-security-policy", policy.encode()))

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in extra if name not in present]
            message = {**message, "headers": headers}
        await send(message)

    return sending
