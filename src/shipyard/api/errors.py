"""One place that maps errors to responses: `{"error": {"code", "message"}}` under /api, and a
page (when the dashboard gives a renderer) everywhere else."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, ShipyardError, Unavailable

log = structlog.get_logger()

# (request, status, code, message) -> the response a person reads
PageRenderer = Callable[[Request, int, str, str], Response]

_STATUS: list[tuple[type[ShipyardError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidInput, 422),
    (Unavailable, 503),
]
RETRY_AFTER_S = 5  # what a 503 asks: the embedded Temporal restarts within a few seconds
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    421: "misdirected_request",
    429: "too_many_requests",
}


def status_of(err: ShipyardError) -> int:
    """The HTTP status an error of ours answers with."""
    return next((code for cls, code in _STATUS if isinstance(err, cls)), 502)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _describe(err: RequestValidationError) -> str:
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    return "; ".join(parts) or "invalid request"


_FRAMES = 6  # the innermost frames of an unexpected error's traceback that the log keeps
_MESSAGE_CHARS = 300


def log_unexpected(request: Request, err: BaseException) -> None:
    """One short line: the error's type and message, the route, where it was raised. Locals and
    source lines are never rendered: with them one error wrote ~875 KB and held the loop seconds."""
    walked = traceback.walk_tb(err.__traceback__)
    frames = traceback.StackSummary.extract(walked, limit=-_FRAMES, lookup_lines=False)
    where = " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))
    message = str(err)[:_MESSAGE_CHARS].encode("utf-8", "backslashreplace").decode()
    log.error(
        "request_failed", error=type(err).__name__, message=message,
        method=request.method, path=request.url.path, where=where,
    )  # fmt: skip


class UnexpectedErrors:
    """Answers an error no handler took with a 500 of the usual shape and logs it once, here:
    errors stop at this middleware, so neither Starlette nor uvicorn logs them again."""

    def __init__(self, app: ASGIApp, respond: Callable[[Request, int, str, str], Response]) -> None:
        self.app, self.respond = app, respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as err:
            request = Request(scope)
            with contextlib.suppress(Exception):  # a log that cannot be written must not cost the answer
                log_unexpected(request, err)
            if not started:  # else the answer is half sent: the connection just ends
                await self._answer(request)(scope, receive, send)

    def _answer(self, request: Request) -> Response:
        try:
            return self.respond(request, 500, "internal", "internal error; see the server log")
        except Exception:  # the error page itself failed: the plain shape will do
            return error_response(500, "internal", "internal error; see the server log")


def install_error_handlers(app: FastAPI, page: PageRenderer | None = None) -> None:
    """Map every error to a JSON error (under /api) or to `page` (elsewhere, when given)."""

    def respond(request: Request, status: int, code: str, message: str) -> Response:
        if page is not None and not request.url.path.startswith("/api/"):
            return page(request, status, code, message)
        return error_response(status, code, message)

    app.add_middleware(UnexpectedErrors, respond=respond)

    @app.exception_handler(ShipyardError)
    async def shipyard_error(request: Request, err: ShipyardError) -> Response:
        response = respond(request, status_of(err), err.code, err.message)
        if isinstance(err, Unavailable):
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> Response:
        return respond(request, 422, "invalid_request", _describe(err))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        code = _HTTP_CODES.get(err.status_code, "http_error")
        response = respond(request, err.status_code, code, str(err.detail))
        response.headers.update(err.headers or {})  # Retry-After, WWW-Authenticate
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> Response:
        # Only errors raised outside UnexpectedErrors (in middleware around it) come here.
        log_unexpected(request, err)
        return respond(request, 500, "internal", "internal error; see the server log")
