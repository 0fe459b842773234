"""Alarms, the dashboard and the budget's notifications."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from fargate_env.config.base import Section
from fargate_env.config.limits import MAX_BUDGET_EMAILS
from fargate_env.config.types import Email, between


class ThresholdsConfig(Section):
    period_seconds: Literal[60, 300] = 60
    target_5xx_count: int = Field(5, ge=1)
    alb_5xx_count: int = Field(5, ge=1)
    unhealthy_periods: Annotated[int, between(1, 60)] = 3
    p95_latency_seconds: float = Field(1.0, gt=0, le=60)
    cpu_percent: Annotated[int, between(1, 100)] = 85
    memory_percent: Annotated[int, between(1, 100)] = 85
    evaluation_periods: Annotated[int, between(1, 60)] = 3
    # A queue worker: its queue's oldest message may wait this long before it alarms.
    queue_age_seconds: Annotated[int, between(60, 14 * 24 * 3600)] = 900


class MonitoringConfig(Section):
    emails: list[Email] = []
    dashboard: bool = True
    thresholds: ThresholdsConfig = ThresholdsConfig()
    # Budget notifications: share of cost.monthly_budget_usd (actual spend, forecast spend).
    budget_actual_percent: Annotated[int, between(1, 1000)] = 80
    budget_forecast_percent: Annotated[int, between(1, 1000)] = 100

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        # The budget lists each address as a subscriber: duplicates and an 11th are API errors.
        # Addresses are compared case-insensitively: AWS treats Ops@x.com and ops@x.com alike.
        folded = [e.lower() for e in value]
        duplicates = sorted({e for e in value if folded.count(e.lower()) > 1})
        if duplicates:
            raise ValueError(f"lists {duplicates[0]!r} more than once")
        if len(value) > MAX_BUDGET_EMAILS:
            raise ValueError(
                f"holds {len(value)} addresses; AWS Budgets notifies at most {MAX_BUDGET_EMAILS}"
            )
        return value

    @model_validator(mode="after")
    def _budget(self) -> MonitoringConfig:
        if self.budget_forecast_percent < self.budget_actual_percent:
            raise ValueError(
                f"budget_forecast_percent ({self.budget_forecast_percent}) is below"
                f" budget_actual_percent ({self.budget_actual_percent}): the forecast warning"
                " is meant to come first at the same or a higher share"
            )
        return self
