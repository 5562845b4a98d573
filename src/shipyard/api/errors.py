"""One place that maps errors to responses: `{"error": {"code", "message"}}` under /api, and a
page (when the dashboard gives a renderer) everywhere else."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from shipyard.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, ShipyardError

log = structlog.get_logger()

# (request, status, code, message) -> the response a person reads
PageRenderer = Callable[[Request, int, str, str], Response]

_STATUS: list[tuple[type[ShipyardError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidInput, 422),
]
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


def install_error_handlers(app: FastAPI, page: PageRenderer | None = None) -> None:
    """Map every error to a JSON error (under /api) or to `page` (elsewhere, when given)."""

    def respond(request: Request, status: int, code: str, message: str) -> Response:
        if page is not None and not request.url.path.startswith("/api/"):
            return page(request, status, code, message)
        return error_response(status, code, message)

    @app.exception_handler(ShipyardError)
    async def shipyard_error(request: Request, err: ShipyardError) -> Response:
        return respond(request, status_of(err), err.code, err.message)

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
        log.exception("request_failed")
        return respond(request, 500, "internal", "internal error; see the server log")
