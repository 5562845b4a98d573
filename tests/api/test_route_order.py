"""The API's routers are included in order of traffic (api/app.py), which is safe only while no two
API routes take the same request: this keeps it so."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

from shipyard.config import Settings
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.store import Store
from shipyard.web.app import create_app
from support import Migrated


def _routes(routes: list[BaseRoute]) -> list[Route]:
    """Every route, those of included routers too."""
    found: list[Route] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _routes(included.routes)
        elif isinstance(route, Route):
            found.append(route)
    return found


async def _app(tmp_path: Path, migrated: Migrated) -> tuple[FastAPI, Store]:
    settings = migrated(Settings(data_dir=tmp_path / "data", agent="shell"))
    store = await Store.open(settings.resolved_database_url)
    return create_app(WorkOrderService(settings, store, None)), store


async def test_no_two_api_routes_take_the_same_request(tmp_path: Path, migrated: Migrated) -> None:
    app, store = await _app(tmp_path, migrated)
    try:
        api = [route for route in _routes(app.router.routes) if route.path.startswith("/api/")]
        assert any(route.path == "/api/health" for route in api)
        taken: list[str] = []
        for route in api:
            concrete = re.sub(r"\{[^}]+\}", "x1", route.path)
            for method in route.methods or ():
                takers = [
                    other.path
                    for other in api
                    if other.path_regex.match(concrete) and method in (other.methods or ())
                ]
                if len(takers) > 1:
                    taken.append(f"{method} {concrete}: {takers}")
        assert taken == []
    finally:
        await store.close()
