"""GitHub without githubkit: which repository a URL names, the personal token, GitHub's dispatch
limits, whether a GitHub App is configured.

Kept apart from the API client so that naming a repository or checking a dispatch loads no SDK.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from shipyard.config import Settings
from shipyard.domain.errors import Conflict, InvalidInput

NO_TOKEN = "no GitHub token: set GITHUB_TOKEN, or install gh and run `gh auth login`"
NO_APP = (
    "no GitHub App is configured: set SHIPYARD_GITHUB_APP_ID and the app's private key "
    "(SHIPYARD_GITHUB_APP_PRIVATE_KEY, or SHIPYARD_GITHUB_APP_PRIVATE_KEY_PATH)"
)
MAX_PAYLOAD_KEYS = 10  # GitHub's limit on `client_payload`'s top-level keys
MAX_PAYLOAD_BYTES = 65_536
MAX_EVENT_TYPE_CHARS = 100

_URL = re.compile(
    r"^(?:https?://[^/]+/|ssh://git@[^/]+/|git@[^:]+:)?(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class RepoRef:
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def parse_repository(url: str) -> RepoRef | None:
    """`owner/name` of a GitHub URL (https, ssh or `owner/name` itself); None if it names none."""
    match = _URL.match(url.strip())
    return RepoRef(match["owner"], match["name"]) if match else None


_HOST = re.compile(r"^(?:https?://(?:[^@/]+@)?|ssh://git@|git@)(?P<host>[^/:]+)")


def issue_web_url(url: str, number: int) -> str | None:
    """Where people read issue `number` of the repository `url` names (github.com for `owner/name`)."""
    ref = parse_repository(url)
    if ref is None:
        return None
    found = _HOST.match(url.strip())
    return f"https://{found['host'] if found else 'github.com'}/{ref.full_name}/issues/{number}"


def token_for(settings: Settings) -> SecretStr | None:
    """The configured token, else the GitHub CLI's, else None."""
    if settings.github_token is not None:
        return settings.github_token
    gh = shutil.which("gh")
    if gh is None:
        return None
    try:
        done = subprocess.run([gh, "auth", "token"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = done.stdout.strip()
    return SecretStr(token) if done.returncode == 0 and token else None


def check_dispatch(event_type: str, client_payload: dict[str, Any]) -> None:
    """Refuse a repository dispatch GitHub would refuse (InvalidInput), before anything is sent."""
    if not 0 < len(event_type) <= MAX_EVENT_TYPE_CHARS:
        raise InvalidInput(f"event_type must be 1 to {MAX_EVENT_TYPE_CHARS} characters")
    if len(client_payload) > MAX_PAYLOAD_KEYS:
        raise InvalidInput(
            f"client_payload has {len(client_payload)} top-level keys; GitHub allows {MAX_PAYLOAD_KEYS}"
        )
    try:
        size = len(json.dumps(client_payload).encode())
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"client_payload is not JSON: {err}") from None
    if size >= MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"client_payload is {size} bytes of JSON; GitHub takes less than 64 KB")


def require_app(settings: Settings) -> None:
    """Conflict naming the settings when no GitHub App is configured."""
    if not settings.github_app_configured:
        raise Conflict(NO_APP)
