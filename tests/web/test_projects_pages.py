"""Projects through the dashboard: create, change sources as YAML, delete; errors in the page."""

from __future__ import annotations

import re

from dashboard_kit import Dashboard

from support import MakeRepo

PUSH_WITH_ACTIONS = "- on: push\n  workflow: x\n  actions: [opened]"
SOURCES = """- on: issues
  actions: [labeled]
  labels: [shipyard]
  workflow: agent_workflow_plan_build_test
  inputs: {prompt: "{{ event.title }}"}
"""


async def test_create_change_and_delete_a_project(dashboard: Dashboard, make_repo: MakeRepo) -> None:
    repo = make_repo("widgets")
    client = dashboard.client
    form = {"name": "widgets", "repository_url": str(repo), "agent": "shell", "sources": SOURCES}
    created = await client.post("/projects", data=form)
    assert created.status_code == 303 and created.headers["location"] == "/projects/widgets"
    project = await dashboard.store.get_project("widgets")
    assert project.agent == "shell" and project.forge == "local" and project.sources[0].labels == ["shipyard"]
    listed = (await client.get("/projects")).text
    assert 'href="/projects/widgets"' in listed and ">1</td>" in listed  # one source
    shown = (await client.get("/projects/widgets")).text
    assert "labels:\n  - shipyard" in shown and 'value="shell" selected' in shown
    changed = await client.post("/projects/widgets", data={**form, "agent": "", "sources": ""})
    assert changed.status_code == 303 and "saved=1" in changed.headers["location"]
    project = await dashboard.store.get_project("widgets")
    assert project.agent is None and project.sources == []
    deleted = await client.post("/projects/widgets/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/projects"
    assert "No projects yet" in (await client.get("/projects")).text


async def test_bad_projects_are_shown_back_with_the_reason(dashboard: Dashboard, make_repo: MakeRepo) -> None:
    repo = make_repo("widgets")
    client = dashboard.client
    cases = [
        ({"name": "Bad Name", "repository_url": str(repo)}, r"name:"),
        ({"name": "ok", "repository_url": str(repo / "missing")}, r"not found: no such directory"),
        ({"name": "ok", "repository_url": str(repo), "sources": "- on: [unclosed"}, r"not valid YAML"),
        ({"name": "ok", "repository_url": str(repo), "sources": PUSH_WITH_ACTIONS}, r"source 1"),
        ({"name": "ok", "repository_url": str(repo), "agent": "nobody"}, r"unknown agent"),
    ]  # fmt: skip
    for form, reason in cases:
        resp = await client.post("/projects", data=form)
        assert resp.status_code == 422, (form, resp.text[:300])
        assert re.search(reason, resp.text), (form, reason)
        assert f'value="{form["name"]}"' in resp.text  # what was typed stays in the form
    assert await dashboard.store.list_projects() == []
    await client.post("/projects", data={"name": "widgets", "repository_url": str(repo)})
    taken = await client.post("/projects", data={"name": "widgets", "repository_url": str(repo)})
    assert taken.status_code == 409
    assert (await client.get("/projects/nope")).status_code == 404
