"""Error answers as each provider sends them, for a turn scripted with `error_status`; a 429 says
to retry at once, so that a CLI's backoff does not slow the tests."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
# OpenAI's (type, code) for a status, as its API answers them.
OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}
# Google's `status` for an HTTP status, as the Gemini API answers them.
GOOGLE_ERRORS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def anthropic_error(status: int, message: str) -> Response:
    """Anthropic's error body: `{"type": "error", "error": {"type", "message"}}`."""
    kind = ANTHROPIC_ERRORS.get(status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers=_retry_now(status))


def openai_error(status: int, message: str) -> Response:
    """OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`."""
    kind, code = OPENAI_ERRORS.get(status, ("server_error", None))
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=_retry_now(status))


def google_error(status: int, message: str) -> Response:
    """Google's error body: `{"error": {"code", "message", "status"}}`."""
    body = {"error": {"code": status, "message": message, "status": GOOGLE_ERRORS.get(status, "UNKNOWN")}}
    return JSONResponse(body, status_code=status, headers=_retry_now(status))


def _retry_now(status: int) -> dict[str, str]:
    return {"retry-after": "0"} if status == 429 else {}
