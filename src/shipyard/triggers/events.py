"""GitHub webhook payloads reduced to the few fields trigger rules and workflow inputs use.

Text people wrote (titles, bodies, comments) is cleaned of hidden content (domain.untrusted);
templates that put it in a prompt should still fence it: `{{ event.body | untrusted("issue") }}`.
Payloads are untrusted and may be any JSON object GitHub could send (or an attacker holding the
secret): every field is read defensively, and a payload missing what an event usually carries
normalises to an event with those fields empty rather than an error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shipyard.domain.untrusted import clean

CI_EVENTS = ("check_run", "check_suite", "workflow_run", "status")


class TriggerEvent(BaseModel):
    """One webhook delivery as the rest of Shipyard sees it (`event` in input templates)."""

    source: str = "github"
    event: str
    action: str | None = None
    delivery_id: str = ""
    repository: str | None = None  # owner/name
    sender: str | None = None
    sender_is_bot: bool = False
    # push
    ref: str | None = None
    branch: str | None = None
    before: str | None = None
    after: str | None = None
    commit_range: str | None = None  # before..after, as git log takes it
    changed_paths: list[str] = Field(default_factory=list)
    deleted: bool = False
    # issues, issue_comment, pull_request
    number: int | None = None
    title: str = ""
    body: str = ""
    labels: list[str] = Field(default_factory=list)
    label: str | None = None  # the label just added or removed
    is_pull_request: bool = False
    comment_id: int | None = None
    comment: str = ""
    # pull_request
    head_branch: str | None = None
    base_branch: str | None = None
    # repository_dispatch
    dispatch_type: str | None = None
    client_payload: dict[str, Any] = Field(default_factory=dict)
    # check_run, check_suite, workflow_run, status
    ci_name: str | None = None
    ci_status: str | None = None
    ci_conclusion: str | None = None
    head_sha: str | None = None
    ci_url: str | None = None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _labels(item: dict[str, Any]) -> list[str]:
    names = [_str(_obj(label).get("name")) for label in _list(item.get("labels"))]
    return [name for name in names if name]


def _branch(ref: str | None) -> str | None:
    return ref.removeprefix("refs/heads/") if ref and ref.startswith("refs/heads/") else None


def normalise(event: str, delivery_id: str, payload: dict[str, Any]) -> TriggerEvent:
    """The TriggerEvent of a GitHub delivery of type `event` (`X-GitHub-Event`)."""
    sender = _obj(payload.get("sender"))
    out = TriggerEvent(
        event=event,
        action=_str(payload.get("action")),
        delivery_id=delivery_id,
        repository=_str(_obj(payload.get("repository")).get("full_name")),
        sender=_str(sender.get("login")),
        sender_is_bot=sender.get("type") == "Bot" or str(sender.get("login", "")).endswith("[bot]"),
    )
    reader = _READERS.get(event)
    if reader is not None:
        reader(out, payload)
    return out


def _push(out: TriggerEvent, payload: dict[str, Any]) -> None:
    out.ref = _str(payload.get("ref"))
    out.branch = _branch(out.ref)
    out.before, out.after = _str(payload.get("before")), _str(payload.get("after"))
    out.deleted = payload.get("deleted") is True
    if out.before and out.after:
        out.commit_range = f"{out.before}..{out.after}"
    paths: set[str] = set()
    for commit in _list(payload.get("commits")):
        for key in ("added", "removed", "modified"):
            paths.update(f for f in _list(_obj(commit).get(key)) if isinstance(f, str))
    out.changed_paths = sorted(paths)


def _issue_fields(out: TriggerEvent, item: dict[str, Any]) -> None:
    out.number = _int(item.get("number"))
    out.title = clean(_str(item.get("title")) or "")
    out.body = clean(_str(item.get("body")) or "")
    out.labels = _labels(item)


def _issues(out: TriggerEvent, payload: dict[str, Any]) -> None:
    issue = _obj(payload.get("issue"))
    _issue_fields(out, issue)
    out.is_pull_request = "pull_request" in issue
    out.label = _str(_obj(payload.get("label")).get("name"))


def _issue_comment(out: TriggerEvent, payload: dict[str, Any]) -> None:
    _issues(out, payload)
    comment = _obj(payload.get("comment"))
    out.comment_id = _int(comment.get("id"))
    out.comment = clean(_str(comment.get("body")) or "")


def _pull_request(out: TriggerEvent, payload: dict[str, Any]) -> None:
    pull = _obj(payload.get("pull_request"))
    _issue_fields(out, pull)
    out.is_pull_request = True
    out.label = _str(_obj(payload.get("label")).get("name"))
    out.head_branch = _str(_obj(pull.get("head")).get("ref"))
    out.base_branch = _str(_obj(pull.get("base")).get("ref"))
    out.branch = out.base_branch
    out.head_sha = _str(_obj(pull.get("head")).get("sha"))


def _dispatch(out: TriggerEvent, payload: dict[str, Any]) -> None:
    # GitHub's webhook carries the dispatch's event_type as `action`; some relays copy it as `event_type`.
    out.dispatch_type = _str(payload.get("action")) or _str(payload.get("event_type"))
    out.client_payload = _obj(payload.get("client_payload"))
    out.branch = _str(payload.get("branch"))


def _ci(out: TriggerEvent, payload: dict[str, Any]) -> None:
    """check_run, check_suite and workflow_run carry an object named after the event; status is flat."""
    item = _obj(payload.get(out.event)) if out.event != "status" else payload
    out.ci_name = (
        _str(item.get("name")) or _str(item.get("context")) or _str(_obj(item.get("app")).get("name"))
    )
    out.ci_status = _str(item.get("status")) or _str(item.get("state"))
    out.ci_conclusion = _str(item.get("conclusion"))
    out.head_sha = _str(item.get("head_sha")) or _str(item.get("sha"))
    out.head_branch = (
        _str(item.get("head_branch"))  # check_suite, workflow_run
        or _str(_obj(item.get("check_suite")).get("head_branch"))  # check_run
        or next((_str(_obj(b).get("name")) for b in _list(item.get("branches"))), None)  # status
    )
    out.ci_url = _str(item.get("html_url")) or _str(item.get("target_url"))
    numbers = [_int(_obj(p).get("number")) for p in _list(item.get("pull_requests"))]
    out.number = next((n for n in numbers if n is not None), None)


_READERS = {
    "push": _push,
    "issues": _issues,
    "issue_comment": _issue_comment,
    "pull_request": _pull_request,
    "repository_dispatch": _dispatch,
    **dict.fromkeys(CI_EVENTS, _ci),
}
