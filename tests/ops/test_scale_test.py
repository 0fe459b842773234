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
from tests.ops.conftest import ONE_SERVICE, REGION, LocalServer, World, build_world, real_config

runner = CliRunner()
TOKEN = "a-cpu-token-0123456789"
TOKEN_PARAMETER = "/demo/cpu-token"
# Both services get the /cpu token as a secret, as the sample server needs to open /cpu.
WITH_TOKEN = {
    "services": {
        name: {"secrets": {"CPU_ENDPOINT_TOKEN": TOKEN_PARAMETER}} for name in ("web", "api")
    }
}


@pytest.fixture
def world(moto, http_server: LocalServer) -> World:
    """The demo's two services with their /cpu token in SSM, at a server that requires it."""
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString"
    )
    http_server.cpu_token = TOKEN
    return build_world(real_config(WITH_TOKEN), http_server.url)


class Autoscaler:
    """Fake clock whose sleep applies a desired-count schedule {t: desired} through moto's API."""

    def __init__(
        self,
        world: World,
        schedule: dict[float, int],
        service: str = "web",
        load: LocalServer | None = None,
    ) -> None:
        self.service = world.services[service].service
        self.world, self.schedule, self.now = world, dict(schedule), 0.0
        self.ecs = boto3.client("ecs", region_name=REGION)
        # With `load`: the first fake sleep lasts until the background load has reached the
        # server (bounded), not a fixed 0.02 s that a busy machine spends before any request.
        self.load = load

    def _load_hits(self) -> int:
        assert self.load is not None
        with self.load.lock:
            return sum(n for path, n in self.load.hits.items() if path.endswith("/cpu"))

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + 5.0
        while self.load and not self._load_hits() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.02)  # let the background load send a few requests
        self.now += seconds
        for at in sorted(t for t in self.schedule if t <= self.now):
            self.ecs.update_service(cluster=self.world.cluster, service=self.service,
                                    desiredCount=self.schedule.pop(at))  # fmt: skip


def desired(world: World, service: str = "web") -> int:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs_service = world.services[service].service
    return ecs.describe_services(cluster=world.cluster, services=[ecs_service])["services"][0][
        "desiredCount"
    ]


def test_scale_out_and_in_are_timed(world: World, http_server: LocalServer) -> None:
    scaler = Autoscaler(world, {15: 3, 25: 4, 60: 2}, "api", load=http_server)
    report = run_scale_test(
        world.aws(), "api", load_seconds=30, clock=scaler.clock, sleep=scaler.sleep
    )
    assert report.service == "api"
    assert report.initial_desired == 2 and report.peak_desired == 4
    assert report.scaled_out_s == 15 and report.scaled_in_s == 60  # polls every 5 s
    assert report.ok and report.restored_from is None
    # preflight + load reached the service under its route's path; web saw nothing
    assert http_server.hits.get("/api/cpu", 0) >= 2 and "/cpu" not in http_server.hits
    # Every request carried the token: the server answered none of them 404.
    assert report.load is not None and report.load.errors == 0
    assert desired(world, "web") == 2


def test_service_at_its_max_tasks_is_refused(moto, http_server: LocalServer) -> None:
    world = build_world(real_config({"services": {"web": {"scaling": {"max_tasks": 2}}}}),
                        http_server.url)  # fmt: skip
    with pytest.raises(UserError, match=r"already runs 2 task\(s\), its scaling.max_tasks \(2\)"):
        run_scale_test(world.aws(), "web", load_seconds=10)


def test_service_left_as_found_when_scale_in_does_not_come(world, http_server) -> None:
    aws = world.aws()
    aws.config = aws.config.model_copy(
        update={"ops": aws.config.ops.model_copy(update={"scale_in_wait_seconds": 20})}
    )
    scaler = Autoscaler(world, {10: 3}, load=http_server)
    report = run_scale_test(aws, "web", load_seconds=15, clock=scaler.clock, sleep=scaler.sleep)
    assert report.scaled_out_s == 10 and report.scaled_in_s is None and not report.ok
    assert report.restored_from == 3 and desired(world) == 2


def test_never_scaling_out_stops_after_the_load(world: World) -> None:
    scaler = Autoscaler(world, {})
    report = run_scale_test(
        world.aws(), "web", load_seconds=10, clock=scaler.clock, sleep=scaler.sleep
    )
    assert report.scaled_out_s is None and not report.ok
    assert scaler.now <= 15  # did not sit out the scale-in wait for nothing


def test_duration_is_bounded(world: World) -> None:
    with pytest.raises(UserError, match="--duration must be above 0 and at most 600 s"):
        run_scale_test(world.aws(), "web", load_seconds=0)


def test_cli_unreachable_service_is_one_line(moto, env_file) -> None:
    build_world(real_config(), "http://127.0.0.1:9")
    args = ["scale-test", "--env-file", str(env_file), "--service", "api", "--duration", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: cannot reach http://127.0.0.1:9/api/cpu?ms=")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_one_service_needs_no_service_option(moto, one_service_env_file) -> None:
    build_world(real_config(ONE_SERVICE), "http://127.0.0.1:9")
    args = ["scale-test", "--env-file", str(one_service_env_file), "--duration", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: cannot reach http://127.0.0.1:9/cpu?ms=")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ([], "error: --service is required: environment 'demo' has web, api"),
        (["--service", "db"], "error: --service 'db': environment 'demo' has web, api"),
    ],
)
def test_cli_service_missing_or_unknown_is_one_line(aws_credentials, env_file, args, line):
    result = runner.invoke(app, ["scale-test", "--env-file", str(env_file), *args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [line]


def test_the_token_can_live_in_secrets_manager(moto, http_server: LocalServer) -> None:
    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="demo/cpu-token", SecretString=TOKEN
    )["ARN"]
    http_server.cpu_token = TOKEN
    config = real_config({"services": {"api": {"secrets": {"CPU_ENDPOINT_TOKEN": arn}}}})
    world = build_world(config, http_server.url)
    scaler = Autoscaler(world, {10: 3, 20: 2}, "api", load=http_server)
    report = run_scale_test(
        world.aws(), "api", load_seconds=15, clock=scaler.clock, sleep=scaler.sleep
    )
    assert report.load is not None and report.load.requests > 0 and report.load.errors == 0


def test_without_the_token_secret_it_refuses_in_one_line(moto, http_server) -> None:
    world = build_world(real_config(), http_server.url)
    with pytest.raises(UserError, match=r"services\.api\.secrets\.CPU_ENDPOINT_TOKEN is not set"):
        run_scale_test(world.aws(), "api", load_seconds=10)
