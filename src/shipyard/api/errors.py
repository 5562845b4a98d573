"""One place that maps errors to `{"error": {"code", "message"}}` responses."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shipyard.domain.errors import Conflict, InvalidInput, NotFound, ShipyardError

log = structlog.get_logger()

_STATUS: list[tuple[type[ShipyardError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
]


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _describe(err: RequestValidationError) -> str:
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShipyardError)
    async def shipyard_error(_: Request, err: ShipyardError) -> JSONResponse:
        status = next((code for cls, code in _STATUS if isinstance(err, cls)), 502)
        return error_response(status, err.code, err.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _describe(err))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        code = {
            400: "bad_request",
            401: "unauthorized",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(err.status_code, "http_error")
        return error_response(err.status_code, code, str(err.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("request_failed")
        return error_response(500, "internal", "internal error; see the server log")
