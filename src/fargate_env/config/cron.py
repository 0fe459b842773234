"""AWS cron expressions, parsed in one place: `cron(min hour day-of-month month day-of-week
year)` as EventBridge and Application Auto Scaling read them. The config validates them with
it; the cost model finds the week's firing times with it."""

from __future__ import annotations

import calendar
import re

CRON_RE = re.compile(r"^cron\(([^()]+)\)$")
RATE_RE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
RATE_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
# AWS cron day-of-week: 1-7 = SUN-SAT.
DAYS_OF_WEEK = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}


class CronNotExpanded(ValueError):
    """A cron field this module cannot list as numbers (L, W, #, a name it does not know)."""


def rate_minutes(expression: str) -> int | None:
    """The minutes between runs of a Scheduler rate(...) expression; None when it is not one."""
    match = RATE_RE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * RATE_UNIT_MINUTES[match.group(2).rstrip("s")]


def cron_fields(expression: str) -> list[str] | None:
    """The six fields of a cron(...) expression, None when it is not one."""
    match = CRON_RE.match(expression.strip())
    fields = match.group(1).split() if match else []
    return fields if len(fields) == 6 else None


def expand(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """The numbers one cron field lists: *, ?, n, a-b, a,b, */n, a/n (n, n+step ... high)
    and a-b/n; `names` maps words (MON, JAN) to numbers."""
    out: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        wild = base in ("*", "?")
        ends = (
            [low, high]
            if wild
            else [names.get(e.upper(), e) if names else e for e in base.split("-")]
        )
        if (
            len(ends) > 2
            or not all(str(e).isdigit() for e in ends)
            or (step and not step.isdigit())
        ):
            raise CronNotExpanded(f"cannot evaluate cron field {field!r}")
        first, last = int(ends[0]), int(ends[-1])
        if step and len(ends) == 1:
            last = high
        every = int(step) if step else 1
        if not (low <= first <= high and low <= last <= high) or every < 1:
            raise CronNotExpanded(f"cron field {field!r} is out of range")
        out.update(range(first, last + 1, every))
    return out
