"""A scheduled job's run: when EventBridge Scheduler starts it, how long it may take, how often
Scheduler retries a run it could not start."""

from __future__ import annotations

from pydantic import Field

from fargate_env.config.base import Section
from fargate_env.config.types import JobSchedule, Timezone


class JobConfig(Section):
    """kind = "job": nothing runs between runs; each run is one task on the cluster."""

    schedule: JobSchedule
    timezone: Timezone = "UTC"
    # A run still going after this is stopped and reported as failed.
    timeout_minutes: int = Field(60, ge=1, le=24 * 60)
    # Scheduler's retries of a run it could not start (no capacity, throttling).
    start_retries: int = Field(2, ge=0, le=185)
