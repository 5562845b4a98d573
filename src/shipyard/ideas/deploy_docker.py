"""A deployment through the Docker engine (an environment's `docker:`): the version's container
started, its health checked in it, then the environment's earlier container taken away. Every
call to the engine runs in a thread (the SDK blocks). The container is named after the deployment,
so an attempt that runs again (a worker lost) finds the one an earlier attempt started."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from shipyard.config import Settings
from shipyard.domain.projects import DockerDeploy
from shipyard.store.records import DeploymentRecord

LABEL = "shipyard.deployment"  # on each container: the deployment it runs
ENV_LABEL = "shipyard.environment"  # `<project id>/<env>`
_PAUSE_S = 0.5  # between health checks


async def deploy_container(settings: Settings, spec: DockerDeploy, dep: DeploymentRecord) -> str | None:
    """Start the version's container and check its health; None when it is live (the earlier one
    gone), else why not (the new one gone, the earlier one left running)."""
    return await asyncio.to_thread(_deploy, settings, spec, dep)


def _deploy(settings: Settings, spec: DockerDeploy, dep: DeploymentRecord) -> str | None:
    from docker.errors import DockerException, ImageNotFound, NotFound

    from shipyard.sandboxes.docker import engine

    client = engine(settings)
    image, name = f"{spec.image}:{dep.version}", f"shipyard-deploy-{dep.id}"
    where = f"{dep.project_id}/{dep.env}"
    try:
        try:
            container = client.containers.get(name)
        except NotFound:
            container = client.containers.run(
                image, spec.command, name=name, detach=True, labels={LABEL: dep.id, ENV_LABEL: where},
                environment={**spec.env, "SHIPYARD_VERSION": dep.version, "SHIPYARD_ENV": dep.env},
            )  # fmt: skip
        problem = _unhealthy(container, spec)
        if problem is not None:
            container.remove(force=True)
            return problem
        for earlier in client.containers.list(all=True, filters={"label": f"{ENV_LABEL}={where}"}):
            if earlier.name != name:
                earlier.remove(force=True)
        return None
    except ImageNotFound:
        return f"image {image} is not on the Docker engine"
    except DockerException as err:
        return f"the Docker engine refused: {getattr(err, 'explanation', None) or err}"


def _unhealthy(container: Any, spec: DockerDeploy) -> str | None:
    """None once `health` succeeds in the container (or there is none and it runs), else what the
    last check said when the time ran out."""
    deadline, said = time.monotonic() + spec.health_timeout_s, "it never ran"
    while True:
        container.reload()
        if container.status not in ("created", "running"):
            return f"the container stopped ({container.status}) before it was healthy"
        if spec.health is None:
            if container.status == "running":
                return None
            said = "it is not running yet"
        else:
            code, output = container.exec_run(spec.health)
            if code == 0:
                return None
            said = f"exit code {code}: {(output or b'').decode(errors='replace').strip()[-300:]}"
        if time.monotonic() >= deadline:
            return f"health check failed for {spec.health_timeout_s:g} s; last: {said}"
        time.sleep(_PAUSE_S)
