"""How one service deploys: the ECS strategy, its bake times, the test route, and the alarms
that roll a deployment back."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from fargate_env.config.base import Section
from fargate_env.config.limits import (
    CFN_LINEAR_DEPLOY_MINUTES_MAX,
    ECS_BAKE_MINUTES_MAX,
    ECS_CANARY_PERCENT,
    ECS_LINEAR_STEP_PERCENT,
    RULE_PRIORITY_MAX,
)
from fargate_env.config.types import between

Strategy = Literal["rolling", "blue-green", "canary", "linear"]
# Strategies where ECS starts a whole second revision in an alternate target group and shifts
# the production listener rule's weights to it (ECS-native, no CodeDeploy).
TRAFFIC_SHIFTING: tuple[str, ...] = ("blue-green", "canary", "linear")
# ECS's names for the strategies (DeploymentConfiguration.Strategy).
ECS_STRATEGY = {
    "rolling": "ROLLING",
    "blue-green": "BLUE_GREEN",
    "canary": "CANARY",
    "linear": "LINEAR",
}
# Fields that only mean something with these strategies.
_ONLY_WITH: dict[str, tuple[str, ...]] = {
    "bake_minutes": TRAFFIC_SHIFTING,
    "test_header": TRAFFIC_SHIFTING,
    "test_header_value": TRAFFIC_SHIFTING,
    "test_rule_priority": TRAFFIC_SHIFTING,
    "canary_percent": ("canary",),
    "canary_bake_minutes": ("canary",),
    "linear_step_percent": ("linear",),
    "linear_step_minutes": ("linear",),
}
# An HTTP header name (RFC 9110 token); ALB matches at most 40 characters of it.
_HEADER_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$")
_HEADER_VALUE_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _minutes(value: int) -> int:
    if not 0 <= value <= ECS_BAKE_MINUTES_MAX:
        raise ValueError(
            f"must be between 0 and {ECS_BAKE_MINUTES_MAX} minutes (ECS's limit, 24 h)"
            f" (got {value})"
        )
    return value


def _tenths(value: float, lo: float, hi: float, why: str) -> float:
    if not lo <= value <= hi or not math.isclose(value * 10, round(value * 10)):
        raise ValueError(
            f"must be a multiple of 0.1 between {lo:g} and {hi:g}{why} (got {value:g})"
        )
    return round(value, 1)


class DeploymentConfig(Section):
    """`[services.NAME.deployment]`: rolling (the default) or a traffic-shifting strategy.

    Every strategy keeps the circuit breaker and names two rollback alarms (ECS
    DeploymentAlarms, enable + rollback): the target 5xx *rate* and unhealthy targets.
    """

    strategy: Strategy = "rolling"
    # Both revisions run this long after all production traffic is on the new one; rolling
    # back inside it is a weight change, no task start.
    bake_minutes: int = 3
    canary_percent: float = 10.0
    canary_bake_minutes: int = 3
    # ECS shifts this share per step; it need not divide 100 (the last step takes the rest).
    linear_step_percent: float = 25.0
    linear_step_minutes: int = 2
    # Requests carrying this header reach the new revision before production traffic does
    # (the test listener rule), e.g. `curl -H 'X-Deploy-Test: 1' https://.../api/health`.
    test_header: str = "X-Deploy-Test"
    test_header_value: str = "1"
    # None: one below the production rule's priority, so the header is matched first.
    test_rule_priority: Annotated[int, between(1, RULE_PRIORITY_MAX - 1)] | None = None
    # Rollback alarms. A quiet non-prod service must not roll back on one error: the rate
    # counts only periods with at least `rollback_min_requests` requests, and fires on
    # `rollback_datapoints_to_alarm` of `rollback_evaluation_periods` periods.
    rollback_5xx_rate_percent: float = Field(5.0, gt=0, le=100)
    rollback_min_requests: Annotated[int, between(1, 1_000_000)] = 20
    rollback_evaluation_periods: Annotated[int, between(1, 60)] = 3
    rollback_datapoints_to_alarm: Annotated[int, between(1, 60)] = 2

    @field_validator("bake_minutes", "canary_bake_minutes", "linear_step_minutes")
    @classmethod
    def _bake(cls, value: int) -> int:
        return _minutes(value)

    @field_validator("canary_percent")
    @classmethod
    def _canary(cls, value: float) -> float:
        lo, hi = ECS_CANARY_PERCENT
        # 0 % tests nothing and 100 % is blue-green: both are refused.
        return _tenths(value, lo, hi - 0.1, " (0 tests nothing; 100 is blue-green)")

    @field_validator("linear_step_percent")
    @classmethod
    def _linear(cls, value: float) -> float:
        lo, hi = ECS_LINEAR_STEP_PERCENT
        return _tenths(value, lo, hi - 0.1, " (ECS's minimum is 3; 100 is blue-green)")

    @field_validator("test_header")
    @classmethod
    def _header(cls, value: str) -> str:
        if not _HEADER_RE.match(value):
            raise ValueError(
                f"must be an HTTP header name of at most 40 characters (got {value!r})"
            )
        return value

    @field_validator("test_header_value")
    @classmethod
    def _header_value(cls, value: str) -> str:
        if not _HEADER_VALUE_RE.match(value):
            raise ValueError(f"must be 1-128 letters, digits and . _ - (got {value!r})")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> DeploymentConfig:
        for name, strategies in _ONLY_WITH.items():
            # Off its default under another strategy: a setting that would silently do nothing.
            default = type(self).model_fields[name].default
            if getattr(self, name) != default and self.strategy not in strategies:
                raise ValueError(
                    f"{name} applies only to strategy {' / '.join(strategies)}"
                    f" (strategy is {self.strategy!r})"
                )
        if self.rollback_datapoints_to_alarm > self.rollback_evaluation_periods:
            raise ValueError(
                f"rollback_datapoints_to_alarm ({self.rollback_datapoints_to_alarm}) must not"
                f" exceed rollback_evaluation_periods ({self.rollback_evaluation_periods})"
            )
        if self.strategy == "linear" and self.total_bake_minutes > CFN_LINEAR_DEPLOY_MINUTES_MAX:
            raise ValueError(
                f"linear: bake_minutes + linear_step_minutes x {self.linear_bakes} steps ="
                f" {self.total_bake_minutes} minutes; CloudFormation refuses more than"
                f" {CFN_LINEAR_DEPLOY_MINUTES_MAX} (33 h)"
            )
        return self

    @property
    def shifts_traffic(self) -> bool:
        return self.strategy in TRAFFIC_SHIFTING

    @property
    def linear_bakes(self) -> int:
        """Step bakes of a linear deployment: after every shift but the one that reaches 100 %
        (AWS::ECS::Service LinearConfiguration: 100/step - 1 when it divides, else floor)."""
        tenths = round(self.linear_step_percent * 10)
        return math.ceil(1000 / tenths) - 1

    @property
    def bakes_minutes(self) -> list[int]:
        """Every wait of one deployment, in order (none for rolling)."""
        if self.strategy == "rolling":
            return []
        if self.strategy == "canary":
            return [self.canary_bake_minutes, self.bake_minutes]
        if self.strategy == "linear":
            return [self.linear_step_minutes] * self.linear_bakes + [self.bake_minutes]
        return [self.bake_minutes]

    @property
    def total_bake_minutes(self) -> int:
        return sum(self.bakes_minutes)

    def deploy_seconds(self, step_overhead_seconds: int) -> int:
        """Worst-case time of a healthy deployment, past task start: the load balancer's
        per-step overhead (new targets pass the healthy threshold, old ones drain; see
        HealthCheckConfig.deploy_overhead_seconds) plus every bake. Rolling replaces all
        tasks in one step (maximum 200 %), so it is the overhead alone."""
        return step_overhead_seconds + 60 * self.total_bake_minutes
