"""Schedules: a project source `on: schedule` fires its workflow at the times of a cron expression
(standard five fields, or an `@daily`-style alias) in a time zone (an IANA name; default UTC).

Pure: checking sources' schedules and naming them. Keeping them on Temporal is
`shipyard.service.schedule_sync`'s; what a firing does, `shipyard.service.firings`'.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shipyard.domain.errors import InvalidInput

if TYPE_CHECKING:
    from shipyard.domain.projects import Source

Overlap = Literal["skip", "buffer_one", "allow_all"]

ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names counted from `lowest`)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),  # 0 and 7 are both Sunday
)
_ITEM = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")
_ID = re.compile(r"^sch-[0-9a-f]{8}-[0-9a-f]{8}$")


def check_cron(expression: str) -> str:
    """`expression` stripped, if it is five cron fields or an alias; ValueError saying which field
    is wrong and why."""
    text = " ".join(expression.split())
    if text.lower() in ALIASES:
        return text.lower()
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        aliases = ", ".join(ALIASES)
        raise ValueError(
            f"'{expression}' is not a cron expression: it needs 5 fields (minute hour day-of-month"
            f" month day-of-week), has {len(fields)}; or one of {aliases}"
        )
    for value, spec in zip(fields, _FIELDS, strict=True):
        for item in value.lower().split(","):
            _check_item(item, *spec)
    return text


def _check_item(item: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    match = _ITEM.match(item)
    if match is None:
        raise ValueError(f"{name} '{item}' is not *, a number, a range a-b, or one of them /step")
    if match["step"] is not None and int(match["step"]) == 0:
        raise ValueError(f"{name} '{item}': the step must be at least 1")
    if match["range"] == "*":
        return
    bounds = [_number(part, name, low, high, names) for part in match["range"].split("-")]
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise ValueError(f"{name} '{item}': the range runs backwards")


def _number(part: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if part in names:
        return names.index(part) + low
    if not part.isdigit() or not low <= int(part) <= high:
        known = f" or {names[0]}-{names[-1]}" if names else ""
        raise ValueError(f"{name} '{part}' is not in {low}-{high}{known}")
    return int(part)


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone (Europe/Berlin, UTC); ValueError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        example = "Europe/Berlin or UTC"
        raise ValueError(f"unknown time zone '{name}'; give an IANA name such as {example}") from None
    return name


def schedule_id(project_id: str, workflow: str, cron: str, timezone: str | None) -> str:
    """The id of a project's schedule: `sch-`, the project id's hex, and a digest of what makes
    the schedule itself (workflow, times, zone), so it stays the same while other sources are
    added, removed or reordered, and while its inputs, agent or overlap change."""
    digest = hashlib.sha256("\x00".join((workflow, cron, timezone or "")).encode()).hexdigest()[:8]
    return f"sch-{project_id.removeprefix('prj-')}-{digest}"


def is_schedule_id(value: str) -> bool:
    return bool(_ID.match(value))


def project_of(schedule_id: str) -> str:
    """The id of the project a schedule id belongs to."""
    return "prj-" + schedule_id.split("-")[1]


def check_schedules(sources: list[Source]) -> None:
    """InvalidInput naming the pair when two sources make the same schedule (workflow, cron and
    timezone), which would be one schedule firing once."""
    seen: dict[tuple[str, str | None, str | None], int] = {}
    for index, s in enumerate(sources):
        if s.on != "schedule":
            continue
        key = (s.workflow, s.cron, s.timezone)
        if key in seen:
            raise InvalidInput(
                f"sources[{index}]: the same schedule as sources[{seen[key]}] (workflow, cron and"
                " timezone); give its inputs to one source, or fire it at another time"
            )
        seen[key] = index
