"""Work-order ids, branch names and dispatch ids."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid

_ID_RE = re.compile(r"^wo-[0-9a-z]{8}$")
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def new_work_order_id() -> str:
    """A fresh id: `wo-` and 8 lowercase hex characters."""
    return "wo-" + secrets.token_hex(4)


def derived_work_order_id(*parts: str) -> str:
    """The id of the work order that `parts` (a delivery and the rule it matched, say) start: the
    same parts give the same id, so work they start twice is one work order."""
    return "wo-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:8]


def is_work_order_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def slugify(text: str, max_len: int = 40) -> str:
    """Lowercase ASCII words joined by `-`, cut at a word boundary near `max_len`."""
    slug = _SLUG_STRIP.sub("-", text.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0] or slug[:max_len]
    return slug


def branch_name(work_order_id: str, title: str = "") -> str:
    """The work order's git branch: `wo/<id>` or `wo/<id>-<slug>`."""
    slug = slugify(title)
    return f"wo/{work_order_id}-{slug}" if slug else f"wo/{work_order_id}"


def new_dispatch_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort by time."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC variant
    return str(uuid.UUID(int=value))
