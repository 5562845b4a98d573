"""GitHub through githubkit: which repository a URL names, the token, and repository checks.

The token is a personal one (`GITHUB_TOKEN`, or what `gh auth token` prints). It is handed to
githubkit only; errors are described from status codes and GitHub's messages, never from the
request, so it cannot leak into a response or a log line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

from githubkit import GitHub
from githubkit.exception import GitHubException, RequestFailed, RequestTimeout
from pydantic import BaseModel, SecretStr

from shipyard.config import Settings

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


class RepositoryCheck(BaseModel):
    """Seed 003's repository, as verified."""

    repository_owner: str
    repository_name: str
    repository_url: str
    default_branch: str | None = None
    is_accessible: bool = False
    access_verified_at: datetime | None = None


class GitHubClient:
    """The GitHub API calls Shipyard makes, with one token."""

    def __init__(self, settings: Settings, token: SecretStr) -> None:
        self.api_url = settings.github_api_url.rstrip("/")
        self._github = GitHub(
            token.get_secret_value(), base_url=self.api_url, http_cache=False, auto_retry=False, timeout=15
        )

    async def check_repository(self, url: str, ref: RepoRef) -> tuple[RepositoryCheck, str | None]:
        """What GitHub says about the repository, and why it is not accessible when it is not."""
        check = RepositoryCheck(repository_owner=ref.owner, repository_name=ref.name, repository_url=url)
        try:
            repo = (await self._github.rest.repos.async_get(ref.owner, ref.name)).parsed_data
        except GitHubException as err:
            return check, self.describe(err, ref.full_name)
        check.repository_owner, check.repository_name = repo.owner.login, repo.name
        check.default_branch, check.is_accessible = repo.default_branch, True
        check.access_verified_at = datetime.now(UTC)
        return check, None

    def describe(self, err: GitHubException, what: str) -> str:
        """A message for a failed call that names the cause and never carries the token."""
        if isinstance(err, RequestFailed):
            status = err.response.status_code
            if status == 401:
                return "GitHub rejected the token (401 Bad credentials): set a valid GITHUB_TOKEN"
            if status == 404:
                return f"{what} was not found, or the token cannot see it (404)"
            if status == 403:
                return f"the token may not read {what} (403 Forbidden; rate limit or missing scope)"
            return f"GitHub answered {status} for {what}"
        if isinstance(err, RequestTimeout):
            return f"GitHub API at {self.api_url} did not answer in time"
        return f"cannot reach the GitHub API at {self.api_url} ({type(err).__name__})"
