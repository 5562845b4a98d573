"""The whole app `shipyard serve` runs: the API plus the dashboard, its templates, static files,
sign-in (when an API token is set), the GitHub App's installation flow and error pages."""

from __future__ import annotations

from functools import cache
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from shipyard.api.app import create_app as create_api_app
from shipyard.api.deps import check_token
from shipyard.api.errors import error_response
from shipyard.ideas import pages as idea_pages
from shipyard.plans import pages as plan_pages
from shipyard.service.work_orders import WorkOrderService
from shipyard.web import actions, github_app, live, pages, projects
from shipyard.web.diff import highlight_css
from shipyard.web.render import HERE, TOKEN_COOKIE, page, same_origin, signed_in, wants_json


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    if wants_json(request):  # an API client on a page's route (the GitHub App's callback)
        return error_response(status, code, message)
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return page(request, "error.html", status_code=status, status=status, code=code, message=message)


sign_in = APIRouter(tags=["dashboard"], include_in_schema=False)


@sign_in.get("/login")
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", next=_local(next), error=None)


@sign_in.post("/login", dependencies=[Depends(same_origin)])
async def login(
    request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    if not check_token(request, token):
        return page(request, "login.html", status_code=401, next=_local(next), error="That is not the token.")
    done = RedirectResponse(_local(next), status_code=303)
    done.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return done


@sign_in.get("/highlight.css")
async def highlight_stylesheet() -> PlainTextResponse:
    return PlainTextResponse(_highlight_css(), media_type="text/css")


@cache
def _highlight_css() -> str:
    return highlight_css()


def _local(path: str) -> str:
    """Only paths on this server are places to go after signing in."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def create_app(service: WorkOrderService) -> FastAPI:
    """The API and the dashboard serving `service`; the caller owns the engine's lifetime."""
    app = create_api_app(service, error_page)
    app.include_router(sign_in)
    guarded = [Depends(signed_in)]
    # actions first: its /work-orders/new must not be read as the work order "new"
    dashboard = (actions.router, pages.router, live.router, projects.router)
    for router in (*dashboard, idea_pages.router, plan_pages.router):
        app.include_router(router, dependencies=[*guarded, Depends(same_origin)])
    app.include_router(github_app.router)  # its callback arrives from GitHub: the state guards it
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
