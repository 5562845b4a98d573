"""GitHub Deployments (seed 002 §7.1): one per Shipyard deployment, found again by the id it
carries in its payload (an attempt that made it and died before saying so finds it), and its
statuses as the deploy goes."""

from __future__ import annotations

from typing import Any

from shipyard.forge.github_base import GitHubApi
from shipyard.forge.github_repo import RepoRef
from shipyard.forge.models import DeploymentState

_MARK = "shipyard_deployment"  # the payload key holding Shipyard's deployment id


class GitHubDeployments(GitHubApi):
    """The deployment calls of the GitHub client."""

    async def create_deployment(
        self, ref: RepoRef, environment: str, description: str, shipyard_id: str, payload: dict[str, Any]
    ) -> int:
        """The id of the GitHub deployment of `shipyard_id` to `environment` (made when missing, of
        the repository's default branch)."""
        what = f"the deployments of {ref.full_name} to {environment}"

        def page(n: int) -> Any:
            return self._github.rest.repos.async_list_deployments(
                ref.owner, ref.name, environment=environment, per_page=100, page=n
            )

        for found in await self._pages(what, page):
            if isinstance(found, dict) and (found.get("payload") or {}).get(_MARK) == shipyard_id:
                return int(found["id"])
        repo = await self._raw(ref.full_name, self._github.rest.repos.async_get(ref.owner, ref.name))
        branch = str(repo.get("default_branch") or "main")
        request = self._github.rest.repos.async_create_deployment(
            ref.owner, ref.name, ref=branch, environment=environment, description=description,
            auto_merge=False, required_contexts=[], payload={**payload, _MARK: shipyard_id},
        )  # fmt: skip
        made = await self._raw(f"a deployment of {ref.full_name} to {environment}", request)
        return int(made["id"])

    async def set_deployment_status(
        self, ref: RepoRef, deployment_id: int, state: DeploymentState, description: str, url: str | None
    ) -> None:
        """A status of deployment `deployment_id` (`url`: where the environment answers)."""
        request = self._github.rest.repos.async_create_deployment_status(
            ref.owner,
            ref.name,
            deployment_id,
            state=state,
            description=description[:140],
            environment_url=url,
        )
        await self._raw(f"the status of deployment {deployment_id} of {ref.full_name}", request)
