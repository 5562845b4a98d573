"""The GitHub App's installation flow in the browser (seed 002 §7.4): `GET /auth/github-app/install`
sends a signed-in person to the app's installation page on GitHub, and GitHub sends them back to
`GET|POST /auth/github-app/callback` (the app's setup URL), which records the installation and
goes on to the new-project form (or answers JSON to a client that asks for it).

The callback comes from GitHub, without Shipyard's token or sign-in cookie (which is SameSite
strict); the signed state, bound to the browser by a SameSite=lax cookie, and GitHub's own word on
the installation (asked with the app's JWT) are what it trusts.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from shipyard.api.deps import GitHubAppDep
from shipyard.domain.errors import InvalidInput
from shipyard.service.github_app import STATE_TTL_S, InstallationView, InstallCallback
from shipyard.web.render import signed_in, wants_json

PREFIX = "/auth/github-app"
STATE_COOKIE = "shipyard_github_app_state"
router = APIRouter(prefix=PREFIX, tags=["github app"], include_in_schema=False)


@router.get("/install", dependencies=[Depends(signed_in)])
async def install(request: Request, github_app: GitHubAppDep) -> Response:
    """To the app's installation page on GitHub, with a state this browser keeps for the callback."""
    url, state = await github_app.start_install()
    answer = RedirectResponse(url, status_code=303)
    answer.set_cookie(
        STATE_COOKIE, state, max_age=STATE_TTL_S, path=PREFIX, httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return answer


@router.api_route("/callback", methods=["GET", "POST"])
async def callback(request: Request, github_app: GitHubAppDep) -> Response:
    """Record the installation GitHub names, once the state and GitHub agree; then the project form."""
    fields = await _callback(request)
    installation = await github_app.finish_install(fields, request.cookies.get(STATE_COOKIE))
    answer = _answer(request, fields, installation)
    answer.delete_cookie(STATE_COOKIE, path=PREFIX)
    return answer


def _answer(request: Request, fields: InstallCallback, installation: InstallationView | None) -> Response:
    if wants_json(request):
        shown = None if installation is None else installation.model_dump(by_alias=True, exclude={"error"})
        return JSONResponse({"installation": shown, "setupAction": fields.setup_action})
    if installation is None:  # requested: an owner of the account has yet to approve it
        return RedirectResponse("/projects/new?install_requested=1", status_code=303)
    return RedirectResponse(f"/projects/new?installed={installation.installation_id}", status_code=303)


async def _callback(request: Request) -> InstallCallback:
    """The callback's fields: from the query (GitHub's redirect), or a POST's form or JSON body."""
    fields: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        fields |= await _body(request)
    try:
        return InstallCallback.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}" if where else first["msg"]) from None


async def _body(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise InvalidInput("the body is not valid JSON") from None
        return body if isinstance(body, dict) else {}
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    return {}
