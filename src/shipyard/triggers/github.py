"""GitHub webhooks: signature check, delivery parsing.

GitHub signs the raw body with HMAC-SHA256 (`X-Hub-Signature-256: sha256=<hex>`), names the
event in `X-GitHub-Event` (the action is in the body), and gives each delivery a GUID
(`X-GitHub-Delivery`) shared by every hook subscribed to that event, so a delivery is known by
hook id and delivery id together. A hook may send JSON or a form with the JSON in `payload`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel

from shipyard.domain.errors import InvalidInput

SOURCE = "github"


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the body's signature, compared in constant time."""
    return header is not None and hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


class Delivery(BaseModel):
    event: str
    delivery_id: str
    hook_id: str
    action: str | None
    payload: dict[str, Any]


def parse_delivery(headers: Mapping[str, str], body: bytes) -> Delivery:
    """The delivery in a verified request; InvalidInput when it is not one GitHub would send."""
    event = headers.get("x-github-event", "").strip()
    delivery_id = headers.get("x-github-delivery", "").strip()
    if not event or not delivery_id:
        raise InvalidInput("a GitHub webhook needs the X-GitHub-Event and X-GitHub-Delivery headers")
    payload = _payload(headers.get("content-type", ""), body)
    action = payload.get("action")
    return Delivery(
        event=event,
        delivery_id=delivery_id,
        hook_id=headers.get("x-github-hook-id", "").strip(),
        action=action if isinstance(action, str) else None,
        payload=payload,
    )


def _payload(content_type: str, body: bytes) -> dict[str, Any]:
    text = body
    if content_type.split(";")[0].strip() == "application/x-www-form-urlencoded":
        fields = parse_qs(body.decode("utf-8", "replace"))
        if "payload" not in fields:
            raise InvalidInput("a form-encoded webhook must carry its JSON in the `payload` field")
        text = fields["payload"][0].encode()
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past what we parse
        raise InvalidInput("the webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the webhook body must be a JSON object")
    return payload
