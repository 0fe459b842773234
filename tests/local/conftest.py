"""Fixtures for the rehearsal: real HAProxy and service processes, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_env.config import EnvironmentConfig, load_config
from fargate_env.local.rehearsal import Rehearsal

REPO = Path(__file__).resolve().parents[2]
# The demo's health-check numbers at a tenth of their durations (interval 10 s -> 1 s): the
# same thresholds and the same ratios, in test time.
SCALE = 0.1


@pytest.fixture(scope="module")
def demo_config() -> EnvironmentConfig:
    return load_config(REPO / "environments" / "demo.toml")


@pytest.fixture
def rehearsal(demo_config: EnvironmentConfig, tmp_path: Path) -> Iterator[Rehearsal]:
    with Rehearsal(demo_config, tasks=2, scale=SCALE, workdir=tmp_path) as r:
        yield r
