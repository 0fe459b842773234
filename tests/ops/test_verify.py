"""verify: moto for stacks and target group, Stubber where moto never completes a rollout."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.config import ConfigError
from fargate_env.errors import UserError
from fargate_env.ops.verify import (
    http_health,
    last_deployment,
    run_verify,
    service_stable,
    targets_healthy,
)
from tests.ops.conftest import (
    ACCOUNT,
    JOB,
    REGION,
    WITH_JOB,
    LocalServer,
    World,
    build_job,
    build_world,
    connect,
    real_config,
    stop_tasks,
    tasks_held,
)

runner = CliRunner()


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """One table row per output line (the console is 80 columns when not a terminal)."""
    from fargate_env.cli.options import console

    monkeypatch.setattr(console, "_width", 200)


NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def ecs_service(
    running: int,
    desired: int,
    rollout: str = "COMPLETED",
    extra: int = 0,
    name: str = "demo-web-service",
) -> dict:
    """DescribeServices' service element, in the real API's shape."""
    primary = {"id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": rollout,
               "desiredCount": desired, "runningCount": running, "createdAt": NOW}  # fmt: skip
    old = [{"id": f"ecs-svc/{i}", "status": "ACTIVE", "desiredCount": 0, "runningCount": 0}
           for i in range(2, 2 + extra)]  # fmt: skip
    return {"serviceName": name, "status": "ACTIVE", "runningCount": running,
            "desiredCount": desired, "deployments": [primary, *old]}  # fmt: skip


def service_deployment(
    status: str = "SUCCESSFUL", strategy: str = "ROLLING", **extra: object
) -> dict:
    """DescribeServiceDeployments' element, in the real API's shape."""
    return {
        "serviceDeploymentArn": DEPLOYMENT_ARN,
        "status": status,
        "createdAt": NOW,
        "deploymentConfiguration": {"strategy": strategy},
        **extra,
    }


DEPLOYMENT_ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/svc/new"
OLDER_ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/svc/old"


def stub_deployment(stub: Stubber, world: World, ecs_name: str, deployment: dict) -> None:
    """ListServiceDeployments (an older and the newest) and DescribeServiceDeployments."""
    older = NOW - datetime.timedelta(days=1)
    stub.add_response(
        "list_service_deployments",
        {
            "serviceDeployments": [
                {"serviceDeploymentArn": OLDER_ARN, "status": "SUCCESSFUL", "createdAt": older},
                {
                    "serviceDeploymentArn": DEPLOYMENT_ARN,
                    "status": deployment["status"],
                    "createdAt": NOW,
                },
            ]
        },
        {"cluster": world.cluster, "service": ecs_name},
    )
    stub.add_response(
        "describe_service_deployments",
        {"serviceDeployments": [deployment], "failures": []},
        {"serviceDeploymentArns": [DEPLOYMENT_ARN]},
    )


def stub_service(
    world: World, aws, service: dict, *names: str, deployment: dict | None = None
) -> Stubber:
    """One stable-looking DescribeServices answer per service in `names` (default: the first),
    each followed by its last deployment (default: a successful rolling one)."""
    stub = Stubber(aws.client("ecs"))
    for name in names or [world.first.name]:
        ecs_name = world.services[name].service
        stub.add_response(
            "describe_services",
            {"services": [{**service, "serviceName": ecs_name}], "failures": []},
            {"cluster": world.cluster, "services": [ecs_name]},
        )
        stub_deployment(stub, world, ecs_name, deployment or service_deployment())
    return stub


def test_every_service_is_checked_at_its_own_url(world: World, http_server: LocalServer) -> None:
    aws = world.aws()
    with stub_service(world, aws, ecs_service(2, 2), "web", "api"):
        checks = run_verify(aws)
    assert [(c.service, c.name) for c in checks] == [
        ("web", "service stable"),
        ("web", "last deployment"),
        ("web", "targets healthy"),
        ("web", f"GET {http_server.url}/health"),
        ("api", "service stable"),
        ("api", "last deployment"),
        ("api", "targets healthy"),
        ("api", f"GET {http_server.url}/api/health"),  # the route's path prefix
    ]
    assert all(c.ok for c in checks), checks
    assert checks[1].detail == "rolling SUCCESSFUL"
    assert checks[2].detail == "2/2 healthy"
    assert http_server.hits["/health"] == 1 and http_server.hits["/api/health"] == 1


def test_one_service_with_its_own_health_path(moto, http_server: LocalServer) -> None:
    config = real_config({"services": {"api": {"health_check": {"path": "/ready"}}}})
    world = build_world(config, http_server.url)
    aws = world.aws()
    with stub_service(world, aws, ecs_service(2, 2), "api"):
        checks = run_verify(aws, "api")
    assert {c.service for c in checks} == {"api"}
    assert checks[3].name == f"GET {http_server.url}/api/ready" and checks[3].ok
    assert "/health" not in http_server.hits


def test_a_missing_service_stack_fails_that_service_only(moto, http_server) -> None:
    world = build_world(real_config(), http_server.url, skip=("api",))
    aws = world.aws()
    with stub_service(world, aws, ecs_service(2, 2), "web"):
        checks = run_verify(aws)
    assert [c.ok for c in checks if c.service == "web"] == [True, True, True, True]
    (api,) = [c for c in checks if c.service == "api"]
    assert not api.ok and api.detail.startswith(
        "stack demo-service-api not found in us-east-1: run"
        " `fargate-env deploy --env demo --service api` first"
    )


def test_unknown_service_is_a_config_error(world: World) -> None:
    with pytest.raises(ConfigError, match="--service 'db': environment 'demo' has web, api"):
        run_verify(world.aws(), "db")


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


def test_rolled_back_canary_names_its_strategy_reason_and_alarm(world: World) -> None:
    aws = world.aws()
    rolled_back = service_deployment(
        "ROLLBACK_SUCCESSFUL",
        "CANARY",
        statusReason="Service deployment rolled back because of alarm(s).",
        rollback={
            "reason": "Alarm demo-web-Rollback5xxRate is in ALARM state",
            "startedAt": NOW,
            "serviceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/x/1",
        },
        alarms={
            "status": "TRIGGERED",
            "alarmNames": ["demo-web-Rollback5xxRate", "demo-web-RollbackUnhealthy"],
            "triggeredAlarmNames": ["demo-web-Rollback5xxRate"],
        },
    )
    with stub_service(world, aws, ecs_service(2, 2), deployment=rolled_back):
        checks = run_verify(aws, "web")
    (last,) = [c for c in checks if c.name == "last deployment"]
    assert not last.ok
    assert last.detail == (
        "canary ROLLBACK_SUCCESSFUL: Alarm demo-web-Rollback5xxRate is in ALARM state"
        " (alarm demo-web-Rollback5xxRate)"
    )
    # The service itself is stable again: on the old revision.
    assert checks[0].ok


@pytest.mark.parametrize(
    ("deployment", "ok", "detail"),
    [
        (service_deployment("IN_PROGRESS", "LINEAR"), False, "linear IN_PROGRESS"),
        (
            service_deployment(
                "ROLLBACK_SUCCESSFUL",
                "ROLLING",
                statusReason="ECS deployment circuit breaker: tasks failed to start.",
            ),
            False,
            "rolling ROLLBACK_SUCCESSFUL: ECS deployment circuit breaker: tasks failed to start.",
        ),
        (service_deployment("SUCCESSFUL", "BLUE_GREEN"), True, "blue-green SUCCESSFUL"),
    ],
    ids=["in-progress", "circuit-breaker", "blue-green-ok"],
)
def test_last_deployment_states(world: World, deployment: dict, ok: bool, detail: str) -> None:
    aws = world.aws()
    ecs = aws.client("ecs")
    with Stubber(ecs) as stub:
        stub_deployment(stub, world, world.service, deployment)
        check = last_deployment(ecs, world.cluster, world.service)
    assert (check.ok, check.detail) == (ok, detail)


def test_last_deployment_without_the_api_is_a_failed_check(world: World) -> None:
    # moto has no ListServiceDeployments: one failed row, not a traceback.
    aws = world.aws()
    check = last_deployment(aws.client("ecs"), world.cluster, world.service)
    assert not check.ok and "not available" in check.detail


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


def test_cli_failed_check_exits_1_with_a_row_per_service_and_check(world, env_file, wide):
    result = runner.invoke(app, ["verify", "--env-file", str(env_file)])
    assert result.exit_code == 1, result.output
    rows = [line for line in result.output.splitlines() if "service stable" in line]
    assert len(rows) == 2 and "web" in rows[0] and "api" in rows[1]
    assert all("fail" in row for row in rows)  # moto runs no service task: running 0/2
    assert result.output.count("targets healthy") == 2 and "/api/health" in result.output


def test_cli_service_limits_the_checks(world, env_file, wide) -> None:
    args = ["verify", "--env-file", str(env_file), "--service", "api"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    rows = result.output.splitlines()
    assert "/api/health" in result.output and not [r for r in rows if r.startswith("web ")]


def test_cli_one_service_needs_no_service_option(one_world, one_service_env_file, wide):
    result = runner.invoke(app, ["verify", "--env-file", str(one_service_env_file)])
    assert result.exit_code == 1, result.output  # moto: running 0/2
    assert len([row for row in result.output.splitlines() if row.startswith("web ")]) == 4


def test_cli_unknown_service_is_one_line_exit_2(aws_credentials, env_file) -> None:
    result = runner.invoke(app, ["verify", "--env-file", str(env_file), "--service", "db"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --service 'db': environment 'demo' has web, api"
    ]


def test_cli_missing_stack_is_one_line_exit_2(moto, env_file) -> None:
    result = runner.invoke(app, ["verify", "--env-file", str(env_file)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "stack demo-platform not found" in lines[0]


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


# --- kinds: a backend and a worker have no URL, a job no service --------------------------

KINDS = {"services": {"orders": {"kind": "backend", "container_port": 9000},
                      "mailer": {"kind": "worker"}, **WITH_JOB["services"]}}  # fmt: skip


@pytest.fixture
def kinds(moto, http_server: LocalServer, service_tasks) -> Iterator[World]:
    world = build_world(real_config(KINDS), http_server.url, skip=(JOB,))
    build_job(world)
    connect(world, "orders", 9000)
    with tasks_held():
        yield world


def by_service(checks) -> dict[str, dict[str, tuple[bool, str]]]:
    out: dict[str, dict[str, tuple[bool, str]]] = {}
    for check in checks:
        out.setdefault(check.service, {})[check.name] = (check.ok, check.detail)
    return out


def test_each_kind_gets_its_own_checks(kinds: World) -> None:
    checks = by_service(run_verify(kinds.aws()))
    assert set(checks["orders"]) == {"service stable", "last deployment", "tasks healthy",
                                     "service connect"}  # fmt: skip
    assert checks["orders"]["service connect"] == (
        True, "reached at http://orders:9000 inside the environment")  # fmt: skip
    assert set(checks["mailer"]) == {"service stable", "last deployment", "tasks healthy"}
    assert checks["mailer"]["tasks healthy"] == (True, "2 running (no container health check)")
    assert checks[JOB]["schedule"] == (True, "cron(0 3 * * ? *) UTC, enabled")
    assert checks[JOB]["last run"][0] and "run-job nightly" in checks[JOB]["last run"][1]
    # web is unchanged: targets and its URL
    assert "targets healthy" in checks["web"] and any(n.startswith("GET") for n in checks["web"])


def test_a_backend_without_service_connect_fails(kinds: World) -> None:
    connect(kinds, "orders", 9000, dns_name="orders-v2")
    found = by_service(run_verify(kinds.aws(), "orders"))["orders"]["service connect"]
    assert found == (False, "publishes http://orders-v2:9000, not http://orders:9000")


def test_an_unhealthy_worker_task_fails(kinds: World) -> None:
    from moto.ecs.models import ecs_backends

    for arn in kinds.services["mailer"].task_arns:
        for tasks in ecs_backends[ACCOUNT][REGION].tasks.values():
            if arn in tasks:
                tasks[arn].containers[0].health_status = "UNHEALTHY"
    found = by_service(run_verify(kinds.aws(), "mailer"))["mailer"]["tasks healthy"]
    assert found == (False, "2 of 2 container(s) UNHEALTHY")


def test_a_jobs_failed_last_run_and_disabled_schedule_fail(kinds: World) -> None:
    aws = kinds.aws()
    job = aws.service_outputs(JOB, "TaskDefinitionArn", "TaskSubnets", "TaskSecurityGroup")
    boto3.client("ecs", region_name=REGION).run_task(
        cluster=kinds.cluster, taskDefinition=job["TaskDefinitionArn"], startedBy="scheduler",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": job["TaskSubnets"].split(","),
            "securityGroups": [job["TaskSecurityGroup"]]}},
    )  # fmt: skip
    stop_tasks("scheduler", 1)
    scheduler = boto3.client("scheduler", region_name=REGION)
    name = f"demo-{JOB}-schedule"
    target = scheduler.get_schedule(Name=name, GroupName=name)["Target"]
    scheduler.update_schedule(Name=name, GroupName=name, ScheduleExpression="cron(0 3 * * ? *)",
                              State="DISABLED", FlexibleTimeWindow={"Mode": "OFF"},
                              Target=target)  # fmt: skip
    found = by_service(run_verify(aws, JOB))[JOB]
    assert found["schedule"] == (
        False, "cron(0 3 * * ? *) UTC, disabled; the file says cron(0 3 * * ? *) UTC")  # fmt: skip
    assert found["last run"][0] is False
    assert found["last run"][1].startswith("exit 1")
    assert "container app exited 1" in found["last run"][1]


def test_failover_refuses_a_service_without_a_load_balancer(kinds: World) -> None:
    from fargate_env.ops.verify import Deployed

    with pytest.raises(UserError, match="mailer is a worker: it has no load-balancer target"):
        Deployed.read(kinds.aws(), "mailer")
