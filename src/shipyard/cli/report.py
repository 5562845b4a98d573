"""`shipyard report`: from inside a work order's sandbox, add to that work order (seed 000):
events and artifacts, with the SHIPYARD_URL and SHIPYARD_TOKEN the sandbox was given."""

from __future__ import annotations

import json
import mimetypes
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import urllib.error

from shipyard.cli.common import CliError, fail

report_app = typer.Typer(
    help="From inside a sandbox: add events and artifacts to its own work order.", no_args_is_help=True
)


def _where() -> tuple[str, str, dict[str, str]]:
    """(API URL, work order id, auth headers) from the sandbox's environment."""
    missing = [
        v for v in ("SHIPYARD_URL", "SHIPYARD_WORK_ORDER_ID", "SHIPYARD_TOKEN") if not os.environ.get(v)
    ]
    if missing:
        raise CliError(
            f"{', '.join(missing)} not set: `shipyard report` runs inside a work order's sandbox", 2
        )
    url = os.environ["SHIPYARD_URL"].rstrip("/")
    return (
        url,
        os.environ["SHIPYARD_WORK_ORDER_ID"],
        {"Authorization": f"Bearer {os.environ['SHIPYARD_TOKEN']}"},
    )


def _send(method: str, path: str, body: bytes, content_type: str) -> dict[str, Any]:
    """One request to the API with the sandbox's token: its JSON answer, or CliError."""
    # The standard library's client, not httpx: this runs in every sandbox step, and importing
    # httpx alone costs about 0.1 s of CPU, a third of the start this command may take.
    import http.client
    import urllib.error
    import urllib.parse
    import urllib.request

    url, _, headers = _where()
    headers["Content-Type"] = content_type
    quoted = urllib.parse.quote(path, safe="/!$&'()*+,;=:@")  # an artifact's name may hold anything
    request = urllib.request.Request(url + quoted, body, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            text = resp.read()
    except urllib.error.HTTPError as err:
        raise CliError(f"Shipyard refused the report ({err.code}): {_refusal(err)}") from None
    except (OSError, ValueError, http.client.HTTPException) as err:
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        raise CliError(
            f"cannot reach Shipyard at {url}: {reason} (under bwrap the step needs network: true)"
        ) from None
    answer: dict[str, Any] = json.loads(text)
    return answer


def _refusal(err: urllib.error.HTTPError) -> str:
    """The message of the API's `{"error": …}` answer, else one line saying what came back."""
    body = err.read()
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        pass
    # A page (a proxy's, or the dashboard's when SHIPYARD_URL has a path): its status says enough.
    if err.headers.get_content_type() == "text/html" or body.lstrip().startswith(b"<"):
        return f"{err.reason} at {err.url}"
    lines = body.decode(errors="replace").strip().splitlines()
    return lines[0][:200] if lines else str(err.reason)


def _fields(pairs: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"fields are key=value, got '{pair}'", 2)
        try:
            data[key] = json.loads(value)  # numbers, booleans, lists stay what they are
        except ValueError:
            data[key] = value
    return data


@report_app.command("event")
def report_event(
    kind: Annotated[str, typer.Argument(metavar="TYPE", help="Event type; stored as report.TYPE.")],
    fields: Annotated[list[str] | None, typer.Argument(help="key=value pairs (values may be JSON).")] = None,
    level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Add an event, e.g. `shipyard report event tests passed=41 failed=0`."""
    try:
        _, work_order_id, _ = _where()
        step = os.environ.get("SHIPYARD_STEP_ID")
        body = {"type": kind, "data": _fields(fields or []), "level": level, "step_id": step}
        path = f"/api/agent-work-orders/{work_order_id}/report"
        answer = _send("POST", path, json.dumps(body).encode(), "application/json")
    except CliError as err:
        fail(err)
    typer.echo(f"{answer['event']} added to {work_order_id}")


@report_app.command("artifact")
def report_artifact(
    file: Annotated[Path, typer.Argument(help="The file to upload.")],
    name: Annotated[str | None, typer.Option(help="Its name there (default: the file's name).")] = None,
) -> None:
    """Upload a file (coverage report, screenshot, build log) as an artifact of the work order."""
    try:
        _, work_order_id, _ = _where()
        try:
            content = file.read_bytes()
        except OSError as err:
            raise CliError(f"cannot read {file}: {err.strerror}", 2) from None
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        target = name or file.name
        path = f"/api/agent-work-orders/{work_order_id}/artifacts/{target}"
        answer = _send("PUT", path, content, kind)
    except CliError as err:
        fail(err)
    typer.echo(f"{answer['name']} ({answer['size']} bytes) uploaded to {work_order_id}")
