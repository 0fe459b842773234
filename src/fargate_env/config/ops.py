"""Bounds and pacing of the commands that operate a deployed environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fargate_env.config.base import Section


class OpsConfig(Section):
    """Bounds and pacing of the operations commands against a deployed environment."""

    # verify: how long GET <url><health path> may take before the check fails.
    http_timeout_seconds: float = Field(5.0, gt=0, le=60)
    # How often failover/scale-test/verify poll ECS and the target group.
    poll_interval_seconds: float = Field(5.0, gt=0, le=60)
    # Fargate provisioning + image pull + process start of a replacement task; failover's bound
    # adds the container start period and healthy_threshold x interval to this.
    task_launch_seconds: int = Field(90, ge=10, le=900)
    # `load` refuses longer or bigger runs: it is a probe, not a load-testing service.
    load_max_duration_seconds: int = Field(600, ge=1, le=3600)
    load_max_requests: int = Field(1_000_000, ge=1, le=100_000_000)
    # scale-test: CPU burned per /cpu request, concurrent connections, default load phase, and
    # how long to wait for scale-in (target tracking scales in after 15 low minutes + cooldown).
    scale_test_cpu_ms: int = Field(200, ge=1, le=1000)
    scale_test_connections: int = Field(16, ge=1, le=256)
    scale_test_load_seconds: int = Field(420, ge=10, le=3600)
    scale_in_wait_seconds: int = Field(1200, ge=0, le=3600)
    # rightsize: keep p95 utilisation under this share of the new size; judge only with at least
    # min_datapoints periods of period_seconds (default: one day of 5-minute points).
    rightsize_headroom_percent: int = Field(70, ge=10, le=95)
    rightsize_period_seconds: Literal[60, 300, 3600] = 300
    rightsize_min_datapoints: int = Field(288, ge=1, le=100_000)
    # destroy / preview down: how long one stack's deletion may take before the command gives
    # up waiting (ECS services drain, ALBs and NAT gateways take minutes to go).
    stack_delete_timeout_seconds: int = Field(3600, ge=60, le=14_400)
