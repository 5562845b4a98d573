"""Dashboard forms that change something: start a work order (after verifying its repository)
and steer one. Plain HTML forms: each works without JavaScript, answers with a redirect on
success and with the same page and the error in it otherwise."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.agents.registry import describe_agents
from shipyard.api.errors import status_of
from shipyard.domain.errors import InvalidInput, NotFound, ShipyardError
from shipyard.domain.models import (
    CreateWorkOrderRequest,
    InterruptAction,
    InterruptRequest,
    PromptRequest,
    RetryRequest,
)
from shipyard.sandboxes.registry import describe_sandboxes
from shipyard.service.work_orders import WorkOrderService
from shipyard.web import views
from shipyard.web.pages import detail_context
from shipyard.web.render import Service, page
from shipyard.web.workflows import library, repository_workflows

router = APIRouter(tags=["dashboard"], include_in_schema=False)


async def _verified(service: WorkOrderService, url: str) -> dict[str, Any]:
    """What the form shows about a repository: its check, or why it could not be checked."""
    if not url.strip():
        return {"check": None, "error": "Enter a repository: a local path or a GitHub URL."}
    try:
        check, error = await service.verify_repository(url.strip())
    except ShipyardError as err:
        return {"check": None, "error": err.message}
    return {"check": check, "error": error}


async def _form_context(service: WorkOrderService, values: dict[str, str]) -> dict[str, Any]:
    settings = service.settings
    # Both probe the machine (programs' versions, a Docker engine): off the event loop.
    agents, sandboxes = await asyncio.gather(
        asyncio.to_thread(describe_agents, settings), asyncio.to_thread(describe_sandboxes, settings)
    )
    usable = [name for name, _, avail in agents if avail.available]
    default_agent = settings.agent if settings.agent in usable else (usable[0] if usable else "")
    defaults = {"sandbox_type": settings.sandbox, "agent": default_agent, "workflow_type": ""}
    return {
        "values": {**defaults, **{k: v for k, v in values.items() if v}},
        "sandboxes": sandboxes,
        "agents": agents,
        "verified": None,
        "error": None,
    } | _workflow_choices(values.get("repository_url", ""))


def _workflow_choices(repository_url: str) -> dict[str, Any]:
    """The built-in workflows after the repository's own (which may shadow them by name)."""
    own, problems = repository_workflows(repository_url)
    names = {entry.name for entry in own}
    builtins = [entry for entry in library() if entry.name not in names]
    return {"workflows": own + builtins, "workflow_problems": problems}


@router.get("/work-orders/new")
async def new_work_order(
    request: Request, service: Service, repository_url: str = "", verify: str = ""
) -> HTMLResponse:
    """The form; `verify=1` (its Verify button without JavaScript) also checks the repository."""
    values = {k: v for k, v in request.query_params.items() if k != "verify"}
    context = await _form_context(service, values)
    if verify:
        context["verified"] = await _verified(service, repository_url)
    return page(request, "new.html", **context)


@router.get("/work-orders/verify")
async def verify(request: Request, service: Service, repository_url: str = "") -> HTMLResponse:
    """The verification box of the form and, out of band, the workflows it offers, for htmx."""
    verified = await _verified(service, repository_url)
    values = {"workflow_type": request.query_params.get("workflow_type", "")}
    return page(
        request,
        "_verify.html",
        verified=verified,
        oob=True,
        values=values,
        **_workflow_choices(repository_url),
    )


@router.post("/work-orders")
async def create_work_order(
    request: Request,
    service: Service,
    repository_url: Annotated[str, Form()] = "",
    workflow_type: Annotated[str, Form()] = "",
    sandbox_type: Annotated[str, Form()] = "",
    agent: Annotated[str, Form()] = "",
    prompt: Annotated[str, Form()] = "",
    github_issue_number: Annotated[str, Form()] = "",
    base_branch: Annotated[str, Form()] = "",
) -> Response:
    """Start the work order and show it; the form again, with the reason, when it cannot start."""
    values = {
        "repository_url": repository_url.strip(),
        "workflow_type": workflow_type,
        "sandbox_type": sandbox_type,
        "agent": agent,
        "prompt": prompt,
        "github_issue_number": github_issue_number.strip(),
        "base_branch": base_branch.strip(),
    }
    try:
        record = await service.create(_create_request(values))
    except ShipyardError as err:
        context = await _form_context(service, values) | {"error": err.message}
        return page(request, "new.html", status_code=status_of(err), **context)
    return RedirectResponse(f"/work-orders/{record.id}", status_code=303)


def _create_request(values: dict[str, str]) -> CreateWorkOrderRequest:
    return CreateWorkOrderRequest(
        repository_url=values["repository_url"],
        workflow_type=values["workflow_type"] or None,
        sandbox_type=values["sandbox_type"] or None,
        agent=values["agent"] or None,
        initial_prompt=values["prompt"].strip() or None,
        github_issue_number=values["github_issue_number"] or None,
        base_branch=values["base_branch"] or None,
    )


@router.post("/work-orders/{work_order_id}/{action}")
async def control(
    request: Request,
    work_order_id: str,
    action: str,
    service: Service,
    reason: Annotated[str, Form()] = "",
    prompt_text: Annotated[str, Form()] = "",
    response: Annotated[str, Form()] = "",
    step_id: Annotated[str, Form()] = "",
) -> Response:
    """Pause, resume, cancel, retry, prompt, approve or advance; back to the work order."""
    wo = await service.get(work_order_id)
    try:
        if action in {a.value for a in InterruptAction}:
            await service.interrupt(
                wo, InterruptRequest(action=InterruptAction(action), reason=reason or None)
            )
        elif action == "retry":
            await service.retry(wo, RetryRequest(step_id=step_id or None))
        elif action == "prompt":
            if not prompt_text.strip():
                raise InvalidInput("Write a prompt first.")
            await service.prompt(wo, PromptRequest(prompt_text=prompt_text))
        elif action in ("approve", "advance"):
            await service.answer_gate(wo, response if action == "approve" else None)
        else:
            raise NotFound(f"no action '{action}'; actions: {', '.join(views.DONE)}")
    except ShipyardError as err:
        context = await detail_context(service, wo.id) | {"error": err.message}
        return page(request, "work_order.html", status_code=status_of(err), **context)
    return RedirectResponse(f"/work-orders/{wo.id}?done={action}", status_code=303)
