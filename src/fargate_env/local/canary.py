"""The canary rehearsal's judgement: the rollback alarm's 5xx-rate rule
(fargate_env.constructs.rollback_alarms) applied to the rehearsal's own counts, and what the
rehearsal reports.

The rule, as the alarm has it: per period, 100 x 5xx / answered requests of the new
version's targets; a period under `rollback_min_requests` answered requests counts as 0; the
deployment rolls back once `rollback_datapoints_to_alarm` of the last
`rollback_evaluation_periods` periods reach `rollback_5xx_rate_percent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fargate_env.config import EnvironmentConfig
from fargate_env.ops.load import LoadReport

# HAProxy weights are 0..256; a canary share in tenths of a percent maps onto this total.
WEIGHT_TOTAL = 200


@dataclass(frozen=True)
class RateRule:
    threshold_percent: float
    min_requests: int
    periods: int  # M: rollback_evaluation_periods
    datapoints: int  # N: rollback_datapoints_to_alarm
    period_s: float  # the alarm's period, time-scaled

    @classmethod
    def of(cls, config: EnvironmentConfig, service: str, scale: float) -> RateRule:
        d = config.services[service].deployment
        return cls(
            threshold_percent=d.rollback_5xx_rate_percent,
            min_requests=d.rollback_min_requests,
            periods=d.rollback_evaluation_periods,
            datapoints=d.rollback_datapoints_to_alarm,
            period_s=config.monitoring.thresholds.period_seconds * scale,
        )

    def rate(self, errors: int, answered: int) -> float:
        """One period's datapoint: 0 under the minimum requests (the alarm's IF)."""
        return 100 * errors / answered if answered >= self.min_requests else 0.0

    def breaching(self, rates: list[float]) -> bool:
        """N of the last M datapoints at or above the threshold."""
        recent = rates[-self.periods :]
        return sum(r >= self.threshold_percent for r in recent) >= self.datapoints

    def describe(self) -> str:
        return (
            f"rollback at 5xx >= {self.threshold_percent:g} % in {self.datapoints} of"
            f" {self.periods} periods of {self.period_s:g} s (under"
            f" {self.min_requests} requests: 0)"
        )


def canary_weights(percent: float) -> tuple[int, int]:
    """(weight of each old task, weight of each new task) for a canary share, with as many
    new tasks as old ones; the new weight is at least 1 so a tiny share still tests."""
    new = max(1, round(percent * WEIGHT_TOTAL / 100))
    return WEIGHT_TOTAL - new, new


@dataclass(frozen=True)
class Period:
    answered: int
    errors: int  # 5xx
    rate: float  # the datapoint (0 under the minimum requests)


@dataclass(frozen=True)
class Retired:
    slot: str
    drain_s: float
    exit_code: int | None
    stop_s: float


@dataclass
class CanaryReport:
    service: str
    rule: RateRule
    old: list[str]
    new: list[str]
    weights: tuple[int, int]  # (each old task, each new task) during the bake
    healthy_s: float  # new tasks started -> all UP in HAProxy
    bake_s: float
    periods: list[Period]
    rolled_back: bool
    decided_s: float  # canary share given -> verdict
    retired: list[Retired] = field(default_factory=list)
    loads: dict[str, LoadReport] = field(default_factory=dict)  # every service's load

    @property
    def load(self) -> LoadReport | None:
        """The load on the deployed service."""
        return self.loads.get(self.service)

    @property
    def share_percent(self) -> float:
        old, new = self.weights
        return 100 * new / (old + new)

    @property
    def verdict(self) -> str:
        return "rolled back" if self.rolled_back else "promoted"

    def served(self, slots: list[str]) -> int:
        """Requests of the load that these slots answered (any status)."""
        if self.load is None:
            return 0
        return sum(s.served_by in slots for s in self.load.samples)

    def new_5xx(self) -> int:
        if self.load is None:
            return 0
        return sum(
            s.served_by in self.new and s.status is not None and s.status >= 500
            for s in self.load.samples
        )

    def failed_outside_canary(self) -> int:
        """Failed requests not answered by a new-version task: what the old version (or
        the balancer) got wrong. Should be 0."""
        if self.load is None:
            return 0
        return sum(s.served_by not in self.new for s in self.load.failed())
