"""verify: moto for stacks and target group, Stubber where moto never completes a rollout."""

from __future__ import annotations

import datetime

import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.ops.verify import http_health, run_verify, service_stable, targets_healthy
from tests.ops.conftest import LocalServer, World

runner = CliRunner()
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def ecs_service(running: int, desired: int, rollout: str = "COMPLETED", extra: int = 0) -> dict:
    """DescribeServices' service element, in the real API's shape."""
    primary = {"id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": rollout,
               "desiredCount": desired, "runningCount": running, "createdAt": NOW}  # fmt: skip
    old = [{"id": f"ecs-svc/{i}", "status": "ACTIVE", "desiredCount": 0, "runningCount": 0}
           for i in range(2, 2 + extra)]  # fmt: skip
    return {"serviceName": "demo-service", "status": "ACTIVE", "runningCount": running,
            "desiredCount": desired, "deployments": [primary, *old]}  # fmt: skip


def stub_service(world: World, aws, service: dict) -> Stubber:
    stub = Stubber(aws.client("ecs"))
    stub.add_response(
        "describe_services",
        {"services": [service], "failures": []},
        {"cluster": world.cluster, "services": [world.service]},
    )
    return stub


def test_all_checks_pass(world: World, http_server: LocalServer) -> None:
    aws = world.aws()
    with stub_service(world, aws, ecs_service(2, 2)):
        checks = run_verify(aws)
    assert [c.ok for c in checks] == [True, True, True], checks
    assert checks[1].detail == "2/2 healthy"
    assert checks[2].name == f"GET {http_server.url}/health"
    assert http_server.hits["/health"] == 1


@pytest.mark.parametrize(
    ("service", "detail"),
    [
        (ecs_service(1, 2), "running 1/2"),
        (ecs_service(2, 2, rollout="IN_PROGRESS"), "primary deployment IN_PROGRESS"),
        (ecs_service(2, 2, extra=1), "2 deployment(s)"),
    ],
)
def test_service_not_stable(world: World, service: dict, detail: str) -> None:
    aws = world.aws()
    with stub_service(world, aws, service):
        check = service_stable(aws.client("ecs"), world.cluster, world.service)
    assert not check.ok
    assert detail in check.detail


def test_moto_service_without_running_tasks_is_not_stable(world: World) -> None:
    # moto counts no service task as running (run_task does not feed the service): real-moto path.
    aws = world.aws()
    check = service_stable(aws.client("ecs"), world.cluster, world.service)
    assert not check.ok and check.detail.startswith("running 0/2")


def test_missing_service(world: World) -> None:
    aws = world.aws()
    check = service_stable(aws.client("ecs"), world.cluster, "gone")
    assert not check.ok and "not found" in check.detail


def test_unhealthy_target(world: World) -> None:
    aws = world.aws()
    elbv2 = aws.client("elbv2")
    health = {"TargetHealthDescriptions": [
        {"Target": {"Id": "10.40.0.10", "Port": 8080}, "TargetHealth": {"State": "healthy"}},
        {"Target": {"Id": "10.40.0.11", "Port": 8080},
         "TargetHealth": {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch"}},
    ]}  # fmt: skip
    with Stubber(elbv2) as stub:
        stub.add_response(
            "describe_target_health", health, {"TargetGroupArn": world.target_group_arn}
        )
        check = targets_healthy(elbv2, world.target_group_arn)
    assert not check.ok
    assert check.detail == "10.40.0.11 is unhealthy: Target.ResponseCodeMismatch"


def test_no_registered_target(moto, http_server: LocalServer) -> None:
    from tests.ops.conftest import build_world, real_config

    world = build_world(real_config(), http_server.url, running=0)
    aws = world.aws()
    check = targets_healthy(aws.client("elbv2"), world.target_group_arn)
    assert not check.ok and check.detail == "no target registered"


def test_health_endpoint_status_and_timeout(http_server: LocalServer) -> None:
    http_server.health_status = 503
    check = http_health(http_server.url + "/health", 2)
    assert not check.ok and check.detail.startswith("503")
    http_server.health_status, http_server.delay_s = 200, 1.0
    check = http_health(http_server.url + "/health", 0.3)
    assert not check.ok and check.detail == "no answer within 0.3 s"


def test_unreachable_url_is_a_failed_check() -> None:
    check = http_health("http://127.0.0.1:9/health", 1)
    assert not check.ok and "ConnectError" in check.detail


def test_cli_failed_check_exits_1_with_table(world: World, env_file) -> None:
    result = runner.invoke(app, ["verify", "--env-file", str(env_file)])
    assert result.exit_code == 1, result.output
    assert "service stable" in result.output and "fail" in result.output
    assert "targets healthy" in result.output


def test_cli_missing_stack_is_one_line_exit_2(moto, env_file) -> None:
    result = runner.invoke(app, ["verify", "--env-file", str(env_file)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "stack demo-load-balancer not found" in lines[0]


def test_cli_no_credentials_exit_2(no_credentials, env_file) -> None:
    result = runner.invoke(app, ["verify", "--env-file", str(env_file)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: no AWS credentials found: set AWS_PROFILE (then `aws sso login` if it is an SSO"
        " profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ]


def test_cli_refuses_demo_placeholders(aws_credentials) -> None:
    result = runner.invoke(app, ["verify", "--env", "demo"])
    assert result.exit_code == 2
    assert "demo placeholder in account" in result.output
    assert "Traceback" not in result.output
