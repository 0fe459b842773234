"""rightsize: metric data put into moto's CloudWatch (busy, idle, too thin)."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest

from fargate_env.cost.prices import PriceTable
from fargate_env.errors import UserError
from fargate_env.ops.rightsize import run_rightsize, task_hour_usd
from fargate_env.ops.stats import percentile
from tests.ops.conftest import ONE_SERVICE, REGION, World, build_world, real_config

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def put_usage(world: World, cpu: list[float], memory: list[float], service: str = "web") -> None:
    """One datapoint per 5 minutes going back from now, as ECS would publish them."""
    cw = boto3.client("cloudwatch", region_name=REGION)
    dims = [{"Name": "ClusterName", "Value": world.cluster},
            {"Name": "ServiceName", "Value": world.services[service].service}]  # fmt: skip
    for name, values in (("CPUUtilization", cpu), ("MemoryUtilization", memory)):
        data = [
            {"MetricName": name, "Dimensions": dims, "Value": v,
             "Timestamp": NOW - dt.timedelta(minutes=5 * (i + 1)), "Unit": "Percent"}
            for i, v in enumerate(values)
        ]  # fmt: skip
        for start in range(0, len(data), 500):
            cw.put_metric_data(Namespace="AWS/ECS", MetricData=data[start : start + 500])


def pattern(n: int, low: float, high: float) -> list[float]:
    """Mostly `low` with every 10th point at `high` (p95 = high, like a daily peak)."""
    return [high if i % 10 == 0 else low for i in range(n)]


@pytest.fixture
def world_1024(moto, http_server) -> World:
    """web at 1024 cpu / 2048 MiB, api at the default 256 / 512."""
    config = real_config({"services": {"web": {"cpu": 1024, "memory": 2048}}})
    return build_world(config, http_server.url)


def test_idle_service_downsizes_to_cheapest_fit(world_1024: World) -> None:
    put_usage(world_1024, pattern(400, 5, 12), pattern(400, 10, 15))
    rec = run_rightsize(world_1024.aws(), days=14, service="web", now=NOW)
    assert rec.service == "web" and rec.current == (1024, 2048)
    assert rec.cpu.datapoints == 400 and rec.cpu.p95 == 12 and rec.cpu.max == 12
    # need 0.12 x 1024 = 123 cpu units -> 256 (123 <= 0.7 x 256); 0.15 x 2048 = 307 MiB -> 512
    assert rec.recommended == (256, 512)
    assert rec.monthly_delta_usd is not None and rec.monthly_delta_usd < 0
    assert rec.note.startswith("downsize")


def test_busy_service_upsizes(world_1024: World) -> None:
    # api: 256 cpu / 512 MiB and busy; web idle beside it must not count
    put_usage(world_1024, pattern(400, 60, 95), pattern(400, 40, 50), "api")
    put_usage(world_1024, pattern(400, 1, 2), pattern(400, 1, 2), "web")
    rec = run_rightsize(world_1024.aws(), days=14, service="api", now=NOW)
    assert rec.service == "api" and rec.current == (256, 512)
    # need 0.95 x 256 = 243 units -> 512 (243 <= 358); memory 256 MiB fits 1024 (512 min for 512)
    assert rec.recommended == (512, 1024)
    assert rec.monthly_delta_usd is not None and rec.monthly_delta_usd > 0
    assert rec.note.startswith("upsize")


def test_well_sized_single_service_is_kept(moto, http_server) -> None:
    world = build_world(real_config(ONE_SERVICE), http_server.url)
    put_usage(world, pattern(300, 30, 50), pattern(300, 30, 50))
    rec = run_rightsize(world.aws(), days=14, now=NOW)  # the only service: no name needed
    assert rec.recommended == (256, 512) and rec.monthly_delta_usd == 0
    assert rec.note.startswith("keep")


def test_too_few_datapoints_are_not_judged(world_1024: World) -> None:
    put_usage(world_1024, [5.0] * 20, [10.0] * 20)
    rec = run_rightsize(world_1024.aws(), days=14, service="web", now=NOW)
    assert rec.recommended is None and rec.monthly_delta_usd is None
    assert "too little data to judge: 20 of the 288 datapoints" in rec.note


def test_days_beyond_retention_refused(world_1024: World) -> None:
    with pytest.raises(UserError, match="--days must be 1-63"):
        run_rightsize(world_1024.aws(), days=90, service="web", now=NOW)


def test_monthly_cost_uses_price_table_and_spot_share() -> None:
    prices = PriceTable(REGION)
    x86 = {"architecture": "x86_64", "capacity": {"spot": False}}
    config = real_config({"services": {"api": x86}})
    expected = 0.25 * prices.usd("fargate_x86_vcpu_hour") + 0.5 * prices.usd("fargate_x86_gb_hour")
    assert task_hour_usd(config.services["api"], prices, 256, 512) == pytest.approx(expected)
    spot = config.services["web"]  # demo: all Spot
    assert task_hour_usd(spot, prices, 256, 512) < expected / 2
    arm = real_config({"services": {"api": {"architecture": "arm64", "capacity": {"spot": False}}}})
    arm_usd = 0.25 * prices.usd("fargate_arm_vcpu_hour") + 0.5 * prices.usd("fargate_arm_gb_hour")
    assert task_hour_usd(arm.services["api"], prices, 256, 512) == pytest.approx(arm_usd)
    arm_spot = real_config({"services": {"api": {"architecture": "arm64"}}}).services["api"]
    spot_usd = 0.25 * prices.usd("fargate_spot_arm_vcpu_hour") + 0.5 * prices.usd(
        "fargate_spot_arm_gb_hour"
    )
    assert task_hour_usd(arm_spot, prices, 256, 512) == pytest.approx(spot_usd)


def test_p95_nearest_rank() -> None:
    assert percentile([float(i) for i in range(1, 101)], 95) == 95
    assert percentile([], 95) == 0


def test_cli_prints_recommendation_and_changes_nothing(moto, http_server, env_file) -> None:
    from typer.testing import CliRunner

    from fargate_env.cli import app

    world = build_world(real_config(), http_server.url)
    put_usage(world, pattern(300, 60, 95), pattern(300, 40, 50))
    args = ["rightsize", "--env-file", str(env_file), "--service", "web"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "recommended: 512 cpu / 1024 MiB" in result.output
    assert "nothing was changed: set services.web.cpu / .memory" in result.output
    ecs = boto3.client("ecs", region_name=REGION)
    task_def = ecs.describe_services(cluster=world.cluster, services=[world.service])["services"][
        0
    ]["taskDefinition"]
    assert ecs.describe_task_definition(taskDefinition=task_def)["taskDefinition"]["cpu"] == "256"


def test_cli_one_service_needs_no_service_option(moto, http_server, one_service_env_file):
    from typer.testing import CliRunner

    from fargate_env.cli import app

    world = build_world(real_config(ONE_SERVICE), http_server.url)
    put_usage(world, pattern(300, 60, 95), pattern(300, 40, 50))
    result = CliRunner().invoke(app, ["rightsize", "--env-file", str(one_service_env_file)])
    assert result.exit_code == 0, result.output
    assert "recommended: 512 cpu / 1024 MiB" in result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ([], "error: --service is required: environment 'demo' has web, api"),
        (["--service", "db"], "error: --service 'db': environment 'demo' has web, api"),
    ],
)
def test_cli_service_missing_or_unknown_is_one_line(aws_credentials, env_file, args, line):
    from typer.testing import CliRunner

    from fargate_env.cli import app

    result = CliRunner().invoke(app, ["rightsize", "--env-file", str(env_file), *args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [line]


def test_missing_service_stack_names_the_fix(moto, http_server) -> None:
    world = build_world(real_config(), http_server.url, skip=("api",))
    with pytest.raises(UserError, match=r"^stack demo-service-api not found .*--service api`"):
        run_rightsize(world.aws(), days=14, service="api", now=NOW)
