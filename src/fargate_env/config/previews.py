"""Preview environments: short-lived copies of a service that delete themselves.

The host name and its zone live in `load_balancer.preview_*`; this section holds the guards
(how many at once, how long each may live) and what the cost model assumes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from fargate_env.config.base import Section
from fargate_env.config.types import RetentionDays

_TTL_RE = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_ttl(text: str) -> timedelta:
    """ "90m", "48h", "7d" -> timedelta; anything else is a ValueError naming the format."""
    match = _TTL_RE.match(text)
    if not match:
        raise ValueError(f"must be a duration like 90m, 48h or 7d (got {text!r})")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_ttl(ttl: timedelta) -> str:
    """The shortest exact "7d" / "48h" / "90m" form of a duration."""
    minutes = int(ttl.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _ttl(value: Any) -> Any:
    # "48h" in a TOML file; ISO 8601 ("P2D") or seconds from a model_dump round trip.
    if isinstance(value, str) and _TTL_RE.match(value):
        return parse_ttl(value)
    return value


Ttl = Annotated[timedelta, BeforeValidator(_ttl)]


class PreviewsConfig(Section):
    # At most this many previews of the environment exist at once; each holds a listener-rule
    # priority in 1..max_active, so service rules must stay above it (checked).
    max_active: int = Field(5, ge=1, le=50)
    # `preview up --ttl` / `preview extend --ttl` accept min_ttl..max_ttl; the default applies
    # without --ttl. The lower bound leaves CloudFormation time to create the stack before its
    # one-time schedule fires.
    default_ttl: Ttl = timedelta(hours=48)
    max_ttl: Ttl = timedelta(days=7)
    min_ttl: Ttl = timedelta(hours=1)
    # Previews keep their log events this long (CloudWatch's retention values).
    log_retention_days: RetentionDays = 3
    # `fargate-env cost`: previews assumed alive all month (capacity the bill carries).
    expected_active: int = Field(0, ge=0, le=50)

    @model_validator(mode="after")
    def _ttls(self) -> PreviewsConfig:
        if not self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ValueError(
                f"need min_ttl <= default_ttl <= max_ttl (got {format_ttl(self.min_ttl)},"
                f" {format_ttl(self.default_ttl)}, {format_ttl(self.max_ttl)})"
            )
        if self.min_ttl < timedelta(minutes=15):
            raise ValueError(
                f"min_ttl must be at least 15m: the stack must exist before it deletes itself"
                f" (got {format_ttl(self.min_ttl)})"
            )
        if self.expected_active > self.max_active:
            raise ValueError(
                f"expected_active ({self.expected_active}) exceeds max_active ({self.max_active})"
            )
        return self

    def check_ttl(self, text: str) -> timedelta:
        """A --ttl value within min_ttl..max_ttl, or a ValueError saying what is allowed."""
        ttl = parse_ttl(text)
        if not self.min_ttl <= ttl <= self.max_ttl:
            raise ValueError(
                f"must be between {format_ttl(self.min_ttl)} and {format_ttl(self.max_ttl)}"
                f" (previews.min_ttl, previews.max_ttl; got {text.strip()})"
            )
        return ttl
