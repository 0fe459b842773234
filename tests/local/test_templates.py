"""The rehearsal runs what the synthesized templates hold: each test edits a template in a copy
of a synthesized cloud assembly (never the config) and sees the change in what runs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fargate_env.assembly import LISTENER_RULE, TARGET_GROUP, TASK_DEFINITION
from fargate_env.config import EnvironmentConfig
from fargate_env.constructs.load_balancer import NO_MATCH_BODY
from fargate_env.local.containers import docker, docker_run_args
from fargate_env.local.rehearsal import Rehearsal
from fargate_env.local.templates import LOCAL_IMAGE, TemplateError, read_deployed
from tests.local.conftest import (
    SCALE,
    assembly_of,
    edited_assembly,
    make_config,
    resource,
    save_template,
)
from tests.local.kinds import JOB_COMMAND, KINDS, kinds_assembly

SOLO = {"solo": {"routing": {"default": True}, "environment": {"LOG_LEVEL": "info"}}}


@pytest.fixture(scope="module")
def demo_assembly(demo_config: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assembly_of(demo_config, tmp_path_factory)


@pytest.fixture(scope="module")
def solo_config() -> EnvironmentConfig:
    return make_config(SOLO)


@pytest.fixture(scope="module")
def solo_assembly(solo_config: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assembly_of(solo_config, tmp_path_factory)


def offline(config: EnvironmentConfig, assembly: Path, workdir: Path) -> Rehearsal:
    """A rehearsal that is built (config rendered) but never started."""
    return Rehearsal(config, deployed=read_deployed(assembly), runtime="process", workdir=workdir)


def container(template: dict) -> dict:
    (definition,) = resource(template, TASK_DEFINITION)["ContainerDefinitions"]
    return definition


def test_the_demo_templates_read_back(demo_assembly: Path) -> None:
    deployed = read_deployed(demo_assembly)
    assert sorted(deployed.services) == ["api", "nightly", "orders", "web"]
    kinds = {name: svc.kind for name, svc in deployed.services.items()}
    assert kinds == {"web": "web", "api": "web", "orders": "backend", "nightly": "job"}
    assert deployed.services["web"].task.environment["UPSTREAM_URL"] == "http://orders:8080/"
    api = deployed.services["api"]
    task = api.task
    assert (task.image, task.image_source) == (LOCAL_IMAGE, "the service's ECR repository")
    assert (task.container_port, task.cpu_units, task.memory_mib) == (8080, 256, 512)
    assert (task.user, task.read_only, task.tmpfs) == ("10001", True, ("/tmp",))
    assert (task.init, task.cap_drop, task.cap_add) == (True, ("ALL",), ())
    assert task.stop_timeout_s == 30
    assert task.environment["PATH_PREFIX"] == "/api"
    assert task.environment["SERVICE_NAME"] == "api"
    assert task.check is not None
    assert task.check.command == ("CMD", "python", "-m", "sample_server.healthcheck")
    assert (task.check.interval_s, task.check.timeout_s) == (10, 5)
    assert (task.check.retries, task.check.start_period_s) == (3, 10)
    hc = api.health_check
    assert (hc.path, hc.matcher, hc.interval_seconds, hc.timeout_seconds) == (
        "/health", "200", 10, 5,
    )  # fmt: skip
    assert (hc.healthy_threshold, hc.unhealthy_threshold) == (2, 2)
    assert hc.deregistration_delay_seconds == 10
    (rule,) = api.routes
    assert (rule.paths, rule.hosts, rule.catch_all) == (("/api", "/api/*"), (), False)
    assert deployed.default_service == "web"
    assert deployed.routes[-1].catch_all and deployed.routes[-1].priority == 50000
    assert deployed.no_match == (404, NO_MATCH_BODY)
    assert deployed.idle_timeout_s == 60


def test_docker_run_args_are_the_task_definitions(demo_assembly: Path) -> None:
    task = read_deployed(demo_assembly).services["web"].task
    args = docker_run_args(task, name="n", port=18080, scale=SCALE)
    assert args[: args.index("-e")] == [
        "run", "-d", "--name", "n", "-p", "127.0.0.1:18080:8080",
        "--cpus", "0.25", "--memory", "512m", "--stop-timeout", "30",
        "--user", "10001", "--read-only", "--tmpfs", "/tmp", "--init",
        "--cap-drop", "ALL",
        "--health-cmd", "python -m sample_server.healthcheck",
        "--health-interval", "1000ms",
        # 5 s x 0.1, raised to the floor a Python health command needs.
        "--health-timeout", "1000ms",
        "--health-retries", "3", "--health-start-period", "1000ms",
    ]  # fmt: skip
    env = [args[i + 1] for i, a in enumerate(args) if a == "-e"]
    assert env == [f"{k}={v}" for k, v in task.environment.items()]
    assert args[-1] == LOCAL_IMAGE


def test_editing_the_templates_changes_haproxy_and_docker_run(
    demo_config: EnvironmentConfig, demo_assembly: Path, tmp_path: Path
) -> None:
    before = offline(demo_config, demo_assembly, tmp_path / "before")
    edited, template = edited_assembly(demo_assembly, tmp_path / "cdk.out", "demo-service-api")
    group = resource(template, TARGET_GROUP)
    group["HealthCheckPath"] = "/ready"
    group["HealthyThresholdCount"] = 3
    group["Matcher"] = {"HttpCode": "200-202"}
    for attr in group["TargetGroupAttributes"]:
        if attr["Key"] == "deregistration_delay.timeout_seconds":
            attr["Value"] = "7"
    rule = resource(template, LISTENER_RULE)
    rule["Priority"] = 7
    rule["Conditions"][0]["PathPatternConfig"]["Values"] = ["/v2", "/v2/*"]
    app = container(template)
    app["Environment"].append({"Name": "FEATURE", "Value": "from-the-template"})
    app["Secrets"] = [{"Name": "DB_PASSWORD", "ValueFrom": "arn:aws:ssm:x"}]
    app["StopTimeout"] = 12
    app["User"] = "10002"
    app["LinuxParameters"]["InitProcessEnabled"] = False
    app["HealthCheck"]["Retries"] = 5
    save_template(edited, "demo-service-api", template)

    after = offline(demo_config, edited, tmp_path / "after")
    old, new = before.haproxy.render(), after.haproxy.render()
    assert "option httpchk GET /health\n" in old.split("backend api\n")[1]
    api = new.split("backend api\n")[1].split("\nbackend ")[0]
    assert "option httpchk GET /ready\n" in api
    assert "http-check expect rstatus ^(200|201|202)$\n" in api
    assert "default-server inter 10000ms fall 2 rise 3\n" in api
    assert "deregistration delay 7 s" in new and "deregistration delay 7 s" not in old
    assert after.services["api"].timing.deregistration_delay_s == 7
    # The rule: its new paths, at its new priority.
    assert "acl r7_path path /v2\n" in new and "use_backend api if r7_path\n" in new
    assert "/api" not in new.split("frontend alb\n")[1].split("\nbackend ")[0]
    # The other service's backend did not move.
    assert old.split("backend web\n")[1] == new.split("backend web\n")[1]

    task = after.services["api"].template.task
    args = docker_run_args(task, name="n", port=1)
    assert "FEATURE=from-the-template" in args
    assert "DB_PASSWORD=dummy-DB_PASSWORD" in args
    assert args[args.index("--stop-timeout") + 1] == "12"
    assert args[args.index("--user") + 1] == "10002"
    assert "--init" not in args
    assert args[args.index("--health-retries") + 1] == "5"
    # A process gets the same variables, with its own port.
    env = after.task_environment(after.services["api"], 4321)
    assert env["FEATURE"] == "from-the-template" and env["PORT"] == "4321"
    assert env["DB_PASSWORD"] == "dummy-DB_PASSWORD"


def test_a_template_the_rehearsal_cannot_run_is_one_line(
    demo_assembly: Path, tmp_path: Path
) -> None:
    edited, template = edited_assembly(demo_assembly, tmp_path / "cdk.out", "demo-service-api")
    rule = resource(template, LISTENER_RULE)
    rule["Conditions"].append(
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X", "Values": ["y"]}}
    )
    save_template(edited, "demo-service-api", template)
    with pytest.raises(TemplateError) as caught:
        read_deployed(edited)
    assert str(caught.value) == (
        "demo-service-api: the rehearsal routes on host and path only, not http-header"
    )


def test_the_running_task_is_the_edited_template(
    solo_config: EnvironmentConfig, solo_assembly: Path, runtime: str, tmp_path: Path
) -> None:
    edited, template = edited_assembly(
        solo_assembly, tmp_path / "cdk.out", "local-test-service-solo"
    )
    group = resource(template, TARGET_GROUP)
    group["HealthCheckPath"] = "/ready"
    env = container(template)["Environment"]
    for variable in env:
        if variable["Name"] == "SERVICE_NAME":
            variable["Value"] = "renamed-in-the-template"
    env.append({"Name": "FEATURE", "Value": "on"})
    save_template(edited, "local-test-service-solo", template)

    with Rehearsal(
        solo_config,
        tasks=1,
        scale=SCALE,
        workdir=tmp_path / "run",
        deployed=read_deployed(edited),
        runtime=runtime,  # type: ignore[arg-type]
    ) as r:
        assert "option httpchk GET /ready\n" in r.haproxy.config_path.read_text()
        body = httpx.get(r.url + "/", timeout=5).json()
        assert body["service"] == "renamed-in-the-template"
        (task,) = r.running.values()
        if runtime == "docker":
            config_env = docker("inspect", "-f", "{{json .Config.Env}}", task.container)
            assert '"FEATURE=on"' in config_env
            assert '"SERVICE_NAME=renamed-in-the-template"' in config_env
        else:
            environ = Path(f"/proc/{task.pid}/environ").read_bytes().split(b"\0")
            assert b"FEATURE=on" in environ


def test_a_missing_image_falls_back_to_processes_in_one_line(
    solo_config: EnvironmentConfig, solo_assembly: Path, runtime: str, tmp_path: Path
) -> None:
    edited, template = edited_assembly(
        solo_assembly, tmp_path / "cdk.out", "local-test-service-solo"
    )
    container(template)["Image"] = "no-such-image:local"
    save_template(edited, "local-test-service-solo", template)
    r = Rehearsal(solo_config, deployed=read_deployed(edited), workdir=tmp_path / "run")
    assert r.runtime == "process"
    if runtime == "docker":  # an engine answers: the image is what is missing
        assert r.runtime_note == (
            "no image no-such-image:local (make image): falling back to tasks as processes"
        )
    else:
        assert r.runtime_note.endswith(": falling back to tasks as processes")


def test_each_kind_is_read_from_its_stack(tmp_path_factory: pytest.TempPathFactory) -> None:
    """web: its target group and rules; backend: its Service Connect name and port; worker:
    no port; job: no ECS service, its command."""
    deployed = read_deployed(kinds_assembly(KINDS, tmp_path_factory))
    kinds = {name: svc.kind for name, svc in deployed.services.items()}
    assert kinds == {
        "web": "web",
        "api": "backend",
        "worker": "worker",
        "nightly": "job",
        "broken": "job",
        "sleepy": "job",
    }
    web, api, worker, job = (deployed.services[n] for n in ("web", "api", "worker", "nightly"))
    assert web.health_check is not None and web.routes and web.alias is None
    assert api.alias == ("api", 8080) and api.task.container_port == 8080
    assert api.health_check is None and api.routes == []
    assert worker.task.container_port is None and worker.alias is None
    assert job.task.command == tuple(JOB_COMMAND) and not job.long_running
    assert [r.service for r in deployed.routes] == ["web"]


def test_a_service_connect_service_without_an_alias_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    source = kinds_assembly(KINDS, tmp_path_factory)
    stack = "local-test-service-api"
    assembly, template = edited_assembly(source, tmp_path / "cdk.out", stack)
    service = resource(template, "AWS::ECS::Service")
    service["ServiceConnectConfiguration"]["Services"][0]["ClientAliases"] = []
    save_template(assembly, stack, template)
    with pytest.raises(TemplateError, match=f"^{stack}: a Service Connect service without"):
        read_deployed(assembly)
