"""How many tasks a scalable target keeps up over a week, from its scheduled actions.

Application Auto Scaling fires each `cron(min hour day-of-month month day-of-week year)` action
and sets the target's MinCapacity; between two firings the minimum holds. The idle bill is the
minimum capacity integrated over the week. Timezones shift every firing equally, so they do not
change the fraction (DST's one-hour shifts are ignored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MINUTES_PER_WEEK = 7 * 24 * 60
# AWS cron day-of-week: 1-7 = SUN-SAT. Our week index: 0 = MON ... 6 = SUN.
_DOW_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_CRON_RE = re.compile(r"^cron\(([^()]+)\)$")


class ScheduleNotUnderstood(ValueError):
    """A schedule the weekly model cannot evaluate (day-of-month dates, L, #, rate(...))."""


@dataclass(frozen=True)
class Segment:
    minutes: int
    tasks: int


def _expand(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """Values of one cron field: *, n, a-b, a,b, */n, a-b/n (names allowed for day-of-week)."""

    def value(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise ScheduleNotUnderstood(f"cannot evaluate cron token {token!r}")
        return int(token)

    out: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = value(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = value(a), value(b)
        else:
            start = end = value(part)
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ScheduleNotUnderstood(f"cron field {field!r} is out of range")
        out.update(range(start, end + 1, step))
    return out


def firings(expression: str) -> list[int]:
    """Minutes since Monday 00:00 at which a cron(...) expression fires in a generic week."""
    match = _CRON_RE.match(expression.strip())
    if not match or len(match.group(1).split()) != 6:
        raise ScheduleNotUnderstood(f"not a cron(...) expression: {expression!r}")
    minute, hour, dom, month, dow, year = match.group(1).split()
    if dom not in ("?", "*") or month != "*" or year != "*":
        raise ScheduleNotUnderstood(f"{expression!r} depends on dates, not on the week")
    minutes = _expand(minute, 0, 59)
    hours = _expand(hour, 0, 23)
    days = _expand(dow, 1, 7, _DOW_NAMES)
    week_days = sorted((d - 2) % 7 for d in days)  # SUN(1) -> 6, MON(2) -> 0
    return sorted(d * 1440 + h * 60 + m for d in week_days for h in hours for m in minutes)


def weekly_segments(base_tasks: int, actions: list[tuple[str, int | None]]) -> list[Segment]:
    """Stretches of the week and the minimum task count in each.

    `actions` are (cron expression, MinCapacity or None when the action leaves it unchanged).
    """
    events = sorted((t, tasks) for expression, tasks in actions for t in firings(expression))
    if not events:
        return [Segment(MINUTES_PER_WEEK, base_tasks)]
    # The week wraps: before the first firing, the last firing's value still holds.
    current = next((tasks for _, tasks in reversed(events) if tasks is not None), base_tasks)
    segments: list[Segment] = []
    if events[0][0] > 0:
        segments.append(Segment(events[0][0], current))
    for index, (start, tasks) in enumerate(events):
        current = current if tasks is None else tasks
        end = events[index + 1][0] if index + 1 < len(events) else MINUTES_PER_WEEK
        if end > start:
            segments.append(Segment(end - start, current))
    return segments
