"""Fixtures for the rehearsal: real HAProxy and service processes, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_env.config import EnvironmentConfig, load_config, parse_config
from fargate_env.local.rehearsal import Rehearsal

REPO = Path(__file__).resolve().parents[2]
# The health-check numbers at a tenth of their durations (interval 10 s -> 1 s): the same
# thresholds and the same ratios, in test time.
SCALE = 0.1


def make_config(services: dict[str, Any]) -> EnvironmentConfig:
    """An HTTP-only environment with these [services.NAME] tables."""
    return parse_config(
        {
            "name": "local-test",
            "region": "us-east-1",
            "load_balancer": {"allow_http_only": True},
            "services": services,
        }
    )


# Two services that need no PATH_PREFIX support: `api` is routed paths the sample server
# answers at its root, `web` takes everything else. `api` has a health check of its own
# (interval 5 s, x0.1 = 0.5 s; deregistration delay 5 s) so per-backend numbers show.
PAIR = {
    "web": {"routing": {"default": True}},
    "api": {
        "routing": {"path_patterns": ["/ready", "/cpu*"]},
        "health_check": {
            "path": "/ready",
            "interval_seconds": 5,
            "timeout_seconds": 3,
            "deregistration_delay_seconds": 5,
        },
    },
}


@pytest.fixture(scope="module")
def demo_config() -> EnvironmentConfig:
    return load_config(REPO / "environments" / "demo.toml")


@pytest.fixture(scope="module")
def pair_config() -> EnvironmentConfig:
    return make_config(PAIR)


@pytest.fixture
def pair(pair_config: EnvironmentConfig, tmp_path: Path) -> Iterator[Rehearsal]:
    with Rehearsal(pair_config, tasks=2, scale=SCALE, workdir=tmp_path) as r:
        yield r
