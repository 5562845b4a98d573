"""The steps that speak on a pull request through the forge: `review` posts a review with inline
comments, `reply` answers review comments in their threads.

Each posting ends with a hidden marker naming the work order and the step's row, so an attempt
that runs again after a crash finds what an earlier one posted instead of posting it twice.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from shipyard.domain.errors import InvalidInput
from shipyard.domain.events import EventSink
from shipyard.domain.models import StepStatus
from shipyard.engine.steps import StepRun, template_context
from shipyard.engine.types import RunStepInput, StepOutput
from shipyard.forge import models as forge_models
from shipyard.forge.base import Forge
from shipyard.workflows.templating import render, value_of

MAX_COMMENTS = 100  # inline comments in one review, replies in one step


def marker(inp: RunStepInput) -> str:
    """The hidden line that marks what this step posted."""
    return f"<!-- shipyard:{inp.work_order_id}:{inp.row_id} -->"


async def post_review(inp: RunStepInput, forge: Forge, events: EventSink) -> StepRun:
    """Post the step's review (once: a review carrying its marker is reused)."""
    spec = inp.step.review
    assert spec is not None
    context = template_context(inp)
    number = _pr_number(render(spec.pull_request, context), "review.pull_request")
    event = render(spec.event, context).strip().upper()
    events_known = get_args(forge_models.ReviewEvent)
    if event not in events_known:
        raise InvalidInput(f"review.event gave {event!r}; it must be one of {', '.join(events_known)}")
    comments = []
    if spec.comments is not None:
        items = _items(value_of(spec.comments, context, "review.comments"), "review.comments")
        comments = [_inline(item, f"review.comments[{i}]") for i, item in enumerate(items)]
    tag = marker(inp)
    review = next((r for r in await forge.list_reviews(number) if tag in r.body), None)
    if review is None:
        body = render(spec.body, context).strip()
        wanted = forge_models.ReviewSpec(body=f"{body}\n\n{tag}", event=event, comments=comments)
        review = await forge.create_review(number, wanted)
    data = {"id": review.id, "url": review.html_url, "event": event, "comments": len(comments)}
    await events.emit("pr.reviewed", {"number": number, **data})
    return StepRun(StepOutput(status=StepStatus.COMPLETED, output=review.html_url, output_data=data))


async def post_replies(inp: RunStepInput, forge: Forge, events: EventSink) -> StepRun:
    """Answer each review comment the step's `to` lists (each at most once, by its marker)."""
    spec = inp.step.reply
    assert spec is not None
    context = template_context(inp)
    number = _pr_number(render(spec.pull_request, context), "reply.pull_request")
    items = _items(value_of(spec.to, context, "reply.to"), "reply.to")
    answers = [_answer(item, f"reply.to[{i}]") for i, item in enumerate(items)]
    tag = marker(inp)
    done = {
        c.in_reply_to_id: c.html_url
        for c in await forge.list_review_comments(number)
        if c.in_reply_to_id is not None and tag in c.body
    }
    posted = []
    for comment_id, body in answers:
        url = done.get(comment_id)
        if url is None:
            url = (await forge.reply_to_review_comment(number, comment_id, f"{body}\n\n{tag}")).html_url
            await events.emit("pr.replied", {"number": number, "comment_id": comment_id, "url": url})
        posted.append({"comment_id": comment_id, "url": url})
    output = f"{len(posted)} replies on pull request #{number}"
    return StepRun(StepOutput(status=StepStatus.COMPLETED, output=output, output_data=posted))


def _pr_number(text: str, field: str) -> int:
    value = text.strip().lstrip("#")
    if not value.isdigit() or int(value) < 1:
        raise InvalidInput(f"{field} gave {text.strip()!r:.60}, not a pull request number")
    return int(value)


def _items(value: Any, field: str) -> list[Any]:
    """The list a field gave: a list, or text holding a JSON list (empty text: none)."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput(f"{field} gave text that is not a JSON list: {value.strip()!r:.60}") from None
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{field} gave {type(value).__name__}, not a list")
    if len(value) > MAX_COMMENTS:
        raise InvalidInput(f"{field} gave {len(value)} items; at most {MAX_COMMENTS} are posted")
    return list(value)


def _inline(item: Any, where: str) -> forge_models.InlineComment:
    """One inline comment from {path, line, body} (and optionally side: RIGHT or LEFT)."""
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: expected an object with path, line and body")
    path, line, body = item.get("path"), item.get("line"), item.get("body")
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput(f"{where}: path must be a file's path in the repository")
    if isinstance(line, str) and line.strip().isdigit():
        line = int(line)
    if not isinstance(line, int) or isinstance(line, bool) or line < 1:
        raise InvalidInput(f"{where} ({path}): line must be a line number, not {line!r}")
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput(f"{where} ({path}:{line}): body must be the comment's text")
    side = str(item.get("side") or "RIGHT").upper()
    if side not in ("RIGHT", "LEFT"):
        raise InvalidInput(f"{where} ({path}:{line}): side must be RIGHT or LEFT")
    return forge_models.InlineComment(path=path.strip().lstrip("/"), line=line, body=body, side=side)


def _answer(item: Any, where: str) -> tuple[int, str]:
    """(comment id, body) from {comment_id, body}."""
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: expected an object with comment_id and body")
    comment_id, body = item.get("comment_id"), item.get("body")
    if isinstance(comment_id, str) and comment_id.strip().isdigit():
        comment_id = int(comment_id)
    if not isinstance(comment_id, int) or isinstance(comment_id, bool) or comment_id < 1:
        raise InvalidInput(f"{where}: comment_id must be a review comment's id, not {comment_id!r}")
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput(f"{where} (comment {comment_id}): body must be the reply's text")
    return comment_id, body
