"""How many tasks a scalable target keeps up over a week, from its scheduled actions; how
many times a month a scheduled job runs.

Application Auto Scaling fires each `cron(min hour day-of-month month day-of-week year)` action
and sets the target's MinCapacity; between two firings the minimum holds. The idle bill is the
minimum capacity integrated over the week. Timezones shift every firing equally, so they do not
change the fraction (DST's one-hour shifts are ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

from fargate_env.config.cron import (
    DAYS_OF_WEEK,
    MONTHS,
    CronNotExpanded,
    cron_fields,
    expand,
    rate_minutes,
)
from fargate_env.cost.prices import HOURS_PER_MONTH, HOURS_PER_WEEK

MINUTES_PER_WEEK = 7 * 24 * 60
WEEKS_PER_MONTH = HOURS_PER_MONTH / HOURS_PER_WEEK
DAYS_PER_MONTH = HOURS_PER_MONTH / 24


class ScheduleNotUnderstood(ValueError):
    """A schedule the weekly model cannot evaluate (day-of-month dates, L, #, rate(...))."""


@dataclass(frozen=True)
class Segment:
    minutes: int
    tasks: int


def firings(expression: str) -> list[int]:
    """Minutes since Monday 00:00 at which a cron(...) expression fires in a generic week."""
    fields = cron_fields(expression)
    if fields is None:
        raise ScheduleNotUnderstood(f"not a cron(...) expression: {expression!r}")
    minute, hour, dom, month, dow, year = fields
    if dom not in ("?", "*") or month != "*" or year != "*":
        raise ScheduleNotUnderstood(f"{expression!r} depends on dates, not on the week")
    try:
        minutes = expand(minute, 0, 59)
        hours = expand(hour, 0, 23)
        days = expand(dow, 1, 7, DAYS_OF_WEEK)
    except CronNotExpanded as exc:
        raise ScheduleNotUnderstood(str(exc)) from None
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


def runs_per_month(expression: str) -> float:
    """How often a job's rate(...) or cron(...) fires in an average (730-hour) month. A cron
    on days of the month counts each listed day (29-31 as if every month had them)."""
    minutes = rate_minutes(expression)
    if minutes is not None:
        return HOURS_PER_MONTH * 60 / minutes
    try:
        return len(firings(expression)) * WEEKS_PER_MONTH
    except ScheduleNotUnderstood:
        pass  # dates or months: counted below
    fields = cron_fields(expression)
    if fields is None:
        raise ScheduleNotUnderstood(f"not a cron(...) or rate(...) expression: {expression!r}")
    minute, hour, dom, month, dow, year = fields
    if year != "*":
        raise ScheduleNotUnderstood(f"{expression!r} runs in given years only")
    try:
        per_day = len(expand(minute, 0, 59)) * len(expand(hour, 0, 23))
        if dom not in ("?", "*"):
            days = float(len(expand(dom, 1, 31)))
        elif dow not in ("?", "*"):
            days = len(expand(dow, 1, 7, DAYS_OF_WEEK)) * WEEKS_PER_MONTH
        else:
            days = DAYS_PER_MONTH
        months = len(expand(month, 1, 12, MONTHS)) / 12
    except CronNotExpanded as exc:
        raise ScheduleNotUnderstood(str(exc)) from None
    return per_day * days * months
