"""The token Shipyard uses on GitHub: a GitHub App's installation token, else the personal token.

A GitHub App (`SHIPYARD_GITHUB_APP_ID` and a private key) signs a JWT (RS256; githubkit dates it a
minute back and lets it run ten minutes from then), trades it for an installation token
(`POST /app/installations/{id}/access_tokens`, valid an hour) and caches that per installation
until five minutes before it expires. The installation is `SHIPYARD_GITHUB_APP_INSTALLATION_ID`,
else the app's installation on the repository (`GET /repos/{owner}/{repo}/installation`), cached.
Without an App it is the personal token of `token_for`. The app's own calls the install flow makes
(`GET /app`, `GET /app/installations/{id}`) take the JWT as well. Error messages name the cause from
status codes and never carry the key, the JWT or a token.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import GitHubException, RequestFailed, RequestTimeout
from pydantic import SecretStr, ValidationError

from shipyard.config import Settings
from shipyard.domain.errors import ForgeError, NotFound, ShipyardError
from shipyard.forge.github_repo import RepoRef, token_for

__all__ = ["REFRESH_BEFORE_S", "AppTokens", "app_tokens", "github_token"]

REFRESH_BEFORE_S = 300  # a token this close to its expiry is replaced, so none expires mid-step


async def github_token(settings: Settings, repo: RepoRef | None = None) -> SecretStr | None:
    """The token for `repo`: the GitHub App's installation token when an App is set, else the personal one.

    With an App, None when neither an installation id is configured nor a repository given.
    """
    if not settings.github_app_configured:
        return await asyncio.to_thread(token_for, settings)
    app = app_tokens(settings)
    if settings.github_app_installation_id is not None:
        return await app.token(settings.github_app_installation_id)
    if repo is None:
        return None
    installation_id = await app.installation_for(repo)
    try:
        return await app.token(installation_id)
    except ForgeError:
        app.forget(repo)  # the app may have been reinstalled under a new id: look again next time
        raise


@dataclass(frozen=True)
class _Token:
    value: SecretStr
    expires_at: datetime

    def fresh(self) -> bool:
        return self.expires_at - datetime.now(UTC) > timedelta(seconds=REFRESH_BEFORE_S)


class AppTokens:
    """One GitHub App's installation tokens and repository installations, cached; one request per miss."""

    def __init__(self, api_url: str, app_id: str, private_key: str) -> None:
        self.api_url = api_url.rstrip("/")
        _check_private_key(private_key)
        self._github = GitHub(
            AppAuthStrategy(app_id, private_key),
            base_url=self.api_url,
            cache_strategy=MemCacheStrategy(),  # githubkit caches the JWT there: keep it to this app
            http_cache=False,
            auto_retry=False,
            timeout=15,
        )
        self._tokens: dict[int, _Token] = {}
        self._installations: dict[str, int] = {}  # "owner/name" (lower case) → installation id
        # asyncio locks belong to one event loop, and the API and a worker may each run their own.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )

    async def token(self, installation_id: int) -> SecretStr:
        """A token of the installation with at least five minutes to live."""
        cached = self._tokens.get(installation_id)
        if cached is not None and cached.fresh():
            return cached.value
        async with self._lock(f"installation {installation_id}"):
            cached = self._tokens.get(installation_id)  # another caller may have just fetched one
            if cached is None or not cached.fresh():
                cached = self._tokens[installation_id] = await self._create_token(installation_id)
            return cached.value

    async def installation_for(self, repo: RepoRef) -> int:
        """The id of the app's installation on `repo` (ForgeError if it is not installed there)."""
        key = repo.full_name.lower()
        if key in self._installations:
            return self._installations[key]
        async with self._lock(f"repository {key}"):
            if key not in self._installations:
                self._installations[key] = await self._find_installation(repo)
            return self._installations[key]

    def forget(self, repo: RepoRef) -> None:
        """Drop the cached installation of `repo`."""
        self._installations.pop(repo.full_name.lower(), None)

    async def app(self) -> dict[str, Any]:
        """The app as GitHub describes it (`GET /app`: its slug, name, owner, web page), unvalidated."""
        with self._translated("the GitHub App", "the GitHub App was not found (404)"):
            found: Any = (await self._github.rest.apps.async_get_authenticated()).json()
        if not isinstance(found, dict):
            raise ForgeError("GitHub answered no GitHub App for GET /app")
        return found

    async def installation(self, installation_id: int) -> dict[str, Any]:
        """The app's installation `installation_id` (`GET /app/installations/{id}`), unvalidated;
        NotFound when the app has no such installation."""
        missing = f"GitHub App installation {installation_id} is not an installation of this app (404)"
        with self._translated(f"GitHub App installation {installation_id}", missing, NotFound):
            found: Any = (await self._github.rest.apps.async_get_installation(installation_id)).json()
        if not isinstance(found, dict) or found.get("id") != installation_id:
            raise ForgeError(f"GitHub answered no installation {installation_id}")
        return found

    async def _create_token(self, installation_id: int) -> _Token:
        missing = (
            f"GitHub App installation {installation_id} was not found (404): "
            "check SHIPYARD_GITHUB_APP_INSTALLATION_ID"
        )
        with self._translated(f"a token for GitHub App installation {installation_id}", missing):
            answer = await self._github.rest.apps.async_create_installation_access_token(installation_id)
            created = answer.json()  # unvalidated: githubkit's schema refuses fields GitHub leaves out
        token = created.get("token") if isinstance(created, dict) else None
        if not isinstance(token, str) or not token:
            raise ForgeError(f"GitHub answered no token for GitHub App installation {installation_id}")
        return _Token(SecretStr(token), _expiry(str(created.get("expires_at") or "")))

    async def _find_installation(self, repo: RepoRef) -> int:
        missing = f"the GitHub App is not installed on {repo.full_name} (404)"
        with self._translated(f"the GitHub App's installation on {repo.full_name}", missing):
            answer = await self._github.rest.apps.async_get_repo_installation(repo.owner, repo.name)
            found = answer.json()
        if not isinstance(found, dict) or not isinstance(found.get("id"), int):
            raise ForgeError(f"GitHub answered no installation id for {repo.full_name}")
        return int(found["id"])

    def _lock(self, key: str) -> asyncio.Lock:
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(key, asyncio.Lock())

    @contextmanager
    def _translated(
        self, what: str, missing: str, not_found: type[ShipyardError] = ForgeError
    ) -> Iterator[None]:
        """Turn githubkit's exceptions inside the block into ForgeError; `missing` describes a 404
        (raised as `not_found`)."""
        try:
            yield
        except RequestFailed as err:
            if err.response.status_code == 404:
                raise not_found(missing) from None
            raise ForgeError(_explain_status(err, what, missing)) from None
        except RequestTimeout:
            raise ForgeError(f"GitHub API at {self.api_url} did not answer in time for {what}") from None
        except GitHubException as err:
            message = f"cannot reach the GitHub API at {self.api_url} for {what} ({type(err).__name__})"
            raise ForgeError(message) from None
        except ValidationError:
            raise ForgeError(f"{what}: GitHub's answer does not fit GitHub's schema") from None


def _explain_status(err: RequestFailed, what: str, missing: str) -> str:
    status = err.response.status_code
    if status == 401:
        return (
            "GitHub rejected the GitHub App's JWT (401): check SHIPYARD_GITHUB_APP_ID "
            "and that the private key is the app's"
        )
    if status == 404:
        return missing
    try:
        body = err.response.json()
    except ValueError:
        body = None
    told = str(body.get("message") or "") if isinstance(body, dict) else ""
    return f"GitHub answered {status} for {what}" + (f" ({told})" if told else "")


def _expiry(expires_at: str) -> datetime:
    """GitHub's `expires_at` (`2026-01-01T12:00:00Z`) as an aware datetime; expired if unreadable."""
    try:
        when = datetime.fromisoformat(expires_at)
    except ValueError:
        return datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _check_private_key(pem: str) -> None:
    """ForgeError unless `pem` is an unencrypted RSA private key in PEM (the error never quotes it)."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, RSAPrivateKey):
        raise ForgeError(
            "the GitHub App private key is not an unencrypted RSA private key in PEM format "
            "(SHIPYARD_GITHUB_APP_PRIVATE_KEY or the file of SHIPYARD_GITHUB_APP_PRIVATE_KEY_PATH)"
        )


def _private_key(settings: Settings) -> str:
    """The App's PEM text; `\\n` escapes (a key pasted into one environment line) become newlines."""
    try:
        pem = settings.read_github_app_private_key() or ""
    except (OSError, ValueError) as err:
        path = settings.github_app_private_key_path
        raise ForgeError(
            f"cannot read the GitHub App private key file {path} ({type(err).__name__})"
        ) from None
    return pem.replace("\\n", "\n") if "\n" not in pem.strip() else pem


@functools.cache
def _apps() -> dict[tuple[str, str, str], AppTokens]:
    """The process's App token caches, made on first use: nothing happens at import."""
    return {}


def app_tokens(settings: Settings) -> AppTokens:
    """The configured App's tokens and calls, cached (one per API URL, app id and key)."""
    pem, app_id = _private_key(settings), settings.github_app_id or ""
    key = (settings.github_api_url.rstrip("/"), app_id, hashlib.sha256(pem.encode()).hexdigest())
    apps = _apps()
    if key not in apps:
        apps.setdefault(key, AppTokens(settings.github_api_url, app_id, pem))
    return apps[key]
