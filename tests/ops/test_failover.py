"""failover: moto for the start state, Stubber for the recovery ECS and the ALB go through."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.errors import UserError
from fargate_env.ops.failover import recovery_bound_seconds, run_failover
from tests.ops.conftest import World, real_config, service_overrides
from tests.ops.test_verify import ecs_service

runner = CliRunner()
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class FakeClock:
    """Injectable clock: each sleep advances time, nothing really waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def target_health(*states: str) -> dict:
    return {"TargetHealthDescriptions": [
        {"Target": {"Id": f"10.40.0.{i}", "Port": 8080}, "TargetHealth": {"State": s}}
        for i, s in enumerate(states)
    ]}  # fmt: skip


def script(world: World, aws, polls: list[tuple[dict, list[str], dict]]) -> Iterator[None]:
    """Stub the start checks, the stop, then one (service, tasks, targets) triple per poll."""
    ecs, elbv2 = aws.client("ecs"), aws.client("elbv2")
    svc_params = {"cluster": world.cluster, "services": [world.service]}
    list_params = {"cluster": world.cluster, "serviceName": world.service,
                   "desiredStatus": "RUNNING"}  # fmt: skip
    tg = {"TargetGroupArn": world.target_group_arn}
    ecs_stub, elb_stub = Stubber(ecs), Stubber(elbv2)
    ecs_stub.add_response("describe_services", {"services": [ecs_service(2, 2)]}, svc_params)
    ecs_stub.add_response("list_tasks", {"taskArns": ["arn:t/a", "arn:t/b"]}, list_params)
    ecs_stub.add_response(
        "stop_task",
        {"task": {"taskArn": "arn:t/a"}},
        {"cluster": world.cluster, "task": "arn:t/a", "reason": "fargate-env failover test"},
    )
    for service, tasks, targets in polls:
        ecs_stub.add_response("describe_services", {"services": [service]}, svc_params)
        ecs_stub.add_response("list_tasks", {"taskArns": tasks}, list_params)
        elb_stub.add_response("describe_target_health", targets, tg)
    ecs_stub.activate()
    elb_stub.activate()
    return ecs_stub, elb_stub


def test_bound_is_derived_from_the_services_health_check() -> None:
    config = real_config(service_overrides("api", {"health_check": {
        "interval_seconds": 15, "healthy_threshold": 3, "container_start_period_seconds": 20,
    }}))  # fmt: skip
    assert recovery_bound_seconds(config, "api") == config.ops.task_launch_seconds + 20 + 3 * 15
    assert recovery_bound_seconds(config, "web") == config.ops.task_launch_seconds + 10 + 2 * 10


def test_recovery_is_timed(world: World) -> None:
    aws, clock = world.aws(), FakeClock()
    polls = [
        (ecs_service(2, 2), ["arn:t/b"], target_health("healthy", "draining")),
        (ecs_service(1, 2), ["arn:t/b"], target_health("healthy", "draining")),
        (ecs_service(2, 2), ["arn:t/b", "arn:t/c"], target_health("healthy", "initial")),
        (ecs_service(2, 2), ["arn:t/b", "arn:t/c"], target_health("healthy", "healthy")),
    ]
    stubs = script(world, aws, polls)
    report = run_failover(aws, "web", clock=clock, sleep=clock.sleep)
    for stub in stubs:
        stub.assert_no_pending_responses()
    assert report.ok and report.stopped_task == "a" and report.service == "web"
    assert report.recovered_s == 3 * aws.config.ops.poll_interval_seconds
    events = [event for _, event in report.timeline]
    assert events[0] == "stopped task a"
    assert "running 1/2, targets healthy 1, 1 draining" in events
    assert "running 2/2, targets healthy 1, 1 initial" in events
    assert events[-1].startswith("recovered")


def test_slow_recovery_fails(world: World) -> None:
    aws = world.aws()
    aws.config = real_config({"ops": {"poll_interval_seconds": 60, "task_launch_seconds": 10}})
    clock = FakeClock()
    # Bound 10 + 10 + 2x10 = 40 s; polling goes on two intervals past it (0, 60, 120), then stops.
    polls = [(ecs_service(1, 2), ["arn:t/b"], target_health("healthy"))] * 3
    script(world, aws, polls)
    report = run_failover(aws, "web", clock=clock, sleep=clock.sleep)
    assert report.recovered_s is None and not report.ok
    assert report.bound_s == 40


def test_no_running_task(world: World) -> None:
    aws = world.aws()
    stub = Stubber(aws.client("ecs"))
    stub.add_response("describe_services", {"services": [ecs_service(0, 0)]})
    stub.add_response("list_tasks", {"taskArns": []})
    with stub, pytest.raises(UserError, match="has no running task to stop"):
        run_failover(aws, "web")


def test_cli_unstable_start_is_one_line_exit_2(world: World, env_file) -> None:
    # moto's service counts 0 running of 2: not a state to start a failover test from.
    result = runner.invoke(app, ["failover", "--env-file", str(env_file), "--service", "api"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: service demo-api-service is not stable (running 0/2, 1 deployment(s)): a"
        " failover test needs a healthy start; run `fargate-env verify --env demo --service"
        " api` and wait"
    ]


def test_cli_one_service_needs_no_service_option(one_world: World, one_service_env_file):
    result = runner.invoke(app, ["failover", "--env-file", str(one_service_env_file)])
    assert result.exit_code == 2
    assert "service demo-web-service is not stable" in result.output  # reached the service


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ([], "error: --service is required: environment 'demo' has web, api"),
        (["--service", "db"], "error: --service 'db': environment 'demo' has web, api"),
    ],
)
def test_cli_service_missing_or_unknown_is_one_line_before_aws(
    no_credentials, env_file, args, line
) -> None:
    result = runner.invoke(app, ["failover", "--env-file", str(env_file), *args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [line]


def test_cli_no_credentials(no_credentials, env_file) -> None:
    result = runner.invoke(app, ["failover", "--env-file", str(env_file), "--service", "web"])
    assert result.exit_code == 2 and "no AWS credentials found" in result.output
