"""The githubkit client behind every GitHub call, and the one place its exceptions become ours.

The token is handed to githubkit only; errors are described from status codes and GitHub's
messages, never from the request, and every message is scrubbed of the token, so it cannot leak
into a response or a log line. githubkit's exceptions (and answers that do not fit its schemas)
become `ForgeError`, `GitHubFailed` when GitHub answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from githubkit import GitHub
from githubkit.exception import (
    GitHubException,
    GraphQLFailed,
    RateLimitExceeded,
    RequestFailed,
    RequestTimeout,
)
from githubkit.response import Response
from pydantic import SecretStr, ValidationError

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError

T = TypeVar("T")


class GitHubFailed(ForgeError):
    """GitHub answered a call with an error: its status, and the messages of its `errors` list."""

    def __init__(self, message: str, status: int, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


def _answer(err: RequestFailed) -> tuple[str, tuple[str, ...]]:
    """GitHub's `message` and the messages of its `errors` list, from an error answer."""
    try:
        body = err.response.json()
    except ValueError:
        return "", ()
    if not isinstance(body, dict):
        return "", ()
    errors = body.get("errors")
    details = tuple(_error_text(item) for item in errors) if isinstance(errors, list) else ()
    return str(body.get("message") or ""), details


def _error_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if item.get("message"):
        return str(item["message"])
    return " ".join(str(item[key]) for key in ("resource", "field", "code") if item.get(key))


class GitHubApi:
    """githubkit with one token, and the translation of what it raises."""

    def __init__(self, settings: Settings, token: SecretStr) -> None:
        self.api_url = settings.github_api_url.rstrip("/")
        self._token = token
        self._github = GitHub(
            token.get_secret_value(), base_url=self.api_url, http_cache=False, auto_retry=False, timeout=15
        )

    async def _raw(self, what: str, request: Awaitable[Response[Any, Any]]) -> Any:
        """GitHub's answer as JSON, unvalidated: githubkit's models (of the newest API version)
        refuse answers lacking fields GitHub leaves out, so each reader picks what it needs."""
        with self._translated(what):
            return (await request).json()

    async def _pages(
        self, what: str, page: Callable[[int], Awaitable[Response[Any, Any]]], key: str | None = None
    ) -> list[Any]:
        """Every item of a list GitHub answers a page at a time (`page(n)` asks for page n), read as
        `_raw` reads, up to the page whose `Link` header names no next one. `key`: each page is an
        object holding its items under that key (check runs: `check_runs`)."""
        items: list[Any] = []
        number = 1
        while True:
            with self._translated(what):
                answer = await page(number)
                batch = answer.json()
            if key is not None:
                batch = batch.get(key) if isinstance(batch, dict) else None
            items += batch if isinstance(batch, list) else []
            if 'rel="next"' not in answer.headers.get("link", ""):
                return items
            number += 1

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn githubkit's exceptions (and schema mismatches) inside the block into ForgeError."""
        try:
            yield
        except RequestFailed as err:
            status = err.response.status_code
            details = tuple(self._redact(detail) for detail in _answer(err)[1])
            raise GitHubFailed(self.describe(err, what), status, details) from None
        except GitHubException as err:
            raise ForgeError(self.describe(err, what)) from None
        except ValidationError as err:
            where = ".".join(str(part) for part in err.errors()[0]["loc"]) if err.error_count() else ""
            message = f"{what}: the request or GitHub's answer does not fit GitHub's schema (at {where!r})"
            raise ForgeError(self._redact(message)) from None

    def describe(self, err: GitHubException, what: str) -> str:
        """A message for a failed call that names the cause and never carries the token."""
        return self._redact(self._explain(err, what))

    def _explain(self, err: GitHubException, what: str) -> str:
        if isinstance(err, RateLimitExceeded):
            return f"GitHub's rate limit stopped {what}; retry in {err.retry_after.total_seconds():.0f} s"
        if isinstance(err, RequestFailed):
            return self._explain_status(err, what)
        if isinstance(err, GraphQLFailed):
            errors = err.response.errors or []
            told = "; ".join(f"{e.type}: {e.message}" if e.type else e.message for e in errors)
            return f"GitHub's GraphQL API refused {what}: {told}"
        if isinstance(err, RequestTimeout):
            return f"GitHub API at {self.api_url} did not answer in time"
        return f"cannot reach the GitHub API at {self.api_url} ({type(err).__name__})"

    def _explain_status(self, err: RequestFailed, what: str) -> str:
        status = err.response.status_code
        if status == 401:
            return "GitHub rejected the token (401 Bad credentials): set a valid GITHUB_TOKEN"
        if status == 404:
            return f"{what} was not found, or the token cannot see it (404)"
        if status == 403:
            return f"the token may not read {what} (403 Forbidden; rate limit or missing scope)"
        message, details = _answer(err)
        told = ": ".join(part for part in (message, "; ".join(details)) if part)
        return f"GitHub answered {status} for {what}" + (f" ({told})" if told else "")

    def _redact(self, message: str) -> str:
        secret = self._token.get_secret_value()
        return message.replace(secret, "***") if secret else message
