"""The size limit on request bodies (JSON, and the dashboard's forms): 413 with the usual error
shape, whether the body declares its length or streams past the limit. Webhooks and artifacts
read their bodies themselves under limits of their own (`deps.read_limited`) and pass here."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.api.errors import error_response

# Routes whose bodies deps.read_limited caps (SHIPYARD_WEBHOOK_MAX_BYTES, SHIPYARD_ARTIFACT_MAX_BYTES).
_OWN_LIMIT = ("/api/webhooks/",)
_OWN_LIMIT_PART = "/artifacts/"


def _own_limit(scope: Scope) -> bool:
    path: str = scope["path"]
    return path.startswith(_OWN_LIMIT) or (scope["method"] == "PUT" and _OWN_LIMIT_PART in path)


class BodyLimit:
    """Refuses a body over `limit_bytes` (SHIPYARD_MAX_BODY_BYTES) before it is parsed."""

    def __init__(self, app: ASGIApp, limit_bytes: int) -> None:
        self.app, self.limit_bytes = app, limit_bytes

    def _too_big(self) -> str:
        return f"the request body is over {self.limit_bytes} bytes (SHIPYARD_MAX_BODY_BYTES)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _own_limit(scope):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.limit_bytes:
            await error_response(413, "payload_too_large", self._too_big())(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.limit_bytes:
                # FastAPI passes an HTTPException from reading the body on to the error handlers.
                raise HTTPException(413, self._too_big())
            return message

        return counted
