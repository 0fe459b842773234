"""scale-test: real /cpu load at a local server, moto ECS whose desired count the test's clock
changes as Application Auto Scaling would (moto implements no scaling activities)."""

from __future__ import annotations

import time

import boto3
import pytest
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.errors import UserError
from fargate_env.ops.scale_test import run_scale_test
from tests.ops.conftest import REGION, LocalServer, World

runner = CliRunner()


class Autoscaler:
    """Fake clock whose sleep applies a desired-count schedule {t: desired} through moto's API."""

    def __init__(self, world: World, schedule: dict[float, int]) -> None:
        self.world, self.schedule, self.now = world, dict(schedule), 0.0
        self.ecs = boto3.client("ecs", region_name=REGION)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        time.sleep(0.02)  # let the background load send a few requests
        self.now += seconds
        for at in sorted(t for t in self.schedule if t <= self.now):
            self.ecs.update_service(cluster=self.world.cluster, service=self.world.service,
                                    desiredCount=self.schedule.pop(at))  # fmt: skip


def desired(world: World) -> int:
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.describe_services(cluster=world.cluster, services=[world.service])["services"][0][
        "desiredCount"
    ]


def test_scale_out_and_in_are_timed(world: World, http_server: LocalServer) -> None:
    scaler = Autoscaler(world, {15: 3, 25: 4, 60: 2})
    report = run_scale_test(world.aws(), load_seconds=30, clock=scaler.clock, sleep=scaler.sleep)
    assert report.initial_desired == 2 and report.peak_desired == 4
    assert report.scaled_out_s == 15 and report.scaled_in_s == 60  # polls every 5 s
    assert report.ok and report.restored_from is None
    assert http_server.hits.get("/cpu", 0) >= 2  # preflight + load reached the service
    assert report.load is not None and report.load.errors == 0


def test_service_left_as_found_when_scale_in_does_not_come(world, http_server) -> None:
    aws = world.aws()
    aws.config = aws.config.model_copy(
        update={"ops": aws.config.ops.model_copy(update={"scale_in_wait_seconds": 20})}
    )
    scaler = Autoscaler(world, {10: 3})
    report = run_scale_test(aws, load_seconds=15, clock=scaler.clock, sleep=scaler.sleep)
    assert report.scaled_out_s == 10 and report.scaled_in_s is None and not report.ok
    assert report.restored_from == 3 and desired(world) == 2


def test_never_scaling_out_stops_after_the_load(world: World) -> None:
    scaler = Autoscaler(world, {})
    report = run_scale_test(world.aws(), load_seconds=10, clock=scaler.clock, sleep=scaler.sleep)
    assert report.scaled_out_s is None and not report.ok
    assert scaler.now <= 15  # did not sit out the scale-in wait for nothing


def test_duration_is_bounded(world: World) -> None:
    with pytest.raises(UserError, match="--duration must be above 0 and at most 600 s"):
        run_scale_test(world.aws(), load_seconds=0)


def test_cli_unreachable_service_is_one_line(moto, env_file) -> None:
    from tests.ops.conftest import build_world, real_config

    build_world(real_config(), "http://127.0.0.1:9")
    result = runner.invoke(app, ["scale-test", "--env-file", str(env_file), "--duration", "1"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: cannot reach http://127.0.0.1:9/cpu?ms=")
    assert len(result.stderr.strip().splitlines()) == 1
