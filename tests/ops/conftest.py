"""Fixtures for the ops tools: moto with a deployed-looking environment, a local HTTP server."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from fargate_env import outputs
from fargate_env.config import EnvironmentConfig
from fargate_env.ops.aws import Aws
from tests.conftest import make_config, merge, web_demo_data

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-4000-8000-000000000001"
ZONE = "Z0123456789ABCDEFGHIJ"  # instead of the demo's placeholder preview zone
REAL = {
    "account": ACCOUNT,
    "load_balancer": {"certificate_arn": CERT, "preview_hosted_zone_id": ZONE},
}


# The demo's two web services (tests.conftest.web_demo_data): `web` takes every request no
# rule matches, `api` /api. The kinds' worlds add a backend, a worker or a job of their own.
WEB, API = "web", "api"
# Overrides that leave the demo with `web` alone (--service is then implied).
ONE_SERVICE = {"services": {API: None}}


def real_config(overrides: dict | None = None) -> EnvironmentConfig:
    """The demo's web services with a (moto) account instead of its placeholders."""
    return make_config(merge(REAL, overrides or {}))


def service_overrides(service: str, overrides: dict) -> dict:
    """`overrides` for one service's table: {"cpu": 1024} -> {"services": {"web": {...}}}."""
    return {"services": {service: overrides}}


def toml_text(data: dict) -> str:
    """A TOML file of `data` (strings, numbers, booleans, lists of those, nested tables)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, str):
            return json.dumps(v)
        return str(v)

    lines: list[str] = []

    def table(prefix: list[str], body: dict) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        if prefix and (scalars or not body):
            lines.append(f"[{'.'.join(json.dumps(p) for p in prefix)}]")
        lines.extend(f"{json.dumps(k)} = {value(v)}" for k, v in scalars.items())
        for k, v in body.items():
            if isinstance(v, dict):
                table([*prefix, k], v)

    table([], data)
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, overrides: dict | None = None) -> Path:
    """A filled-in environment file: the demo's web services with REAL and `overrides`."""
    path.write_text(toml_text(merge(merge(web_demo_data(), REAL), overrides or {})))
    return path


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """The demo's web services, its placeholders replaced: a user's filled-in file."""
    return write_env_file(tmp_path / "real.toml")


@pytest.fixture
def one_service_env_file(tmp_path: Path) -> Path:
    """A filled-in environment with the single service `web`."""
    return write_env_file(tmp_path / "one.toml", ONE_SERVICE)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    # No instance-metadata lookups (they would wait on a network timeout).
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def cdk_bin(tmp_path: Path) -> Path:
    """A stand-in for node_modules' pinned CDK CLI: deploy checks it exists, runners record."""
    path = tmp_path / "node_modules" / ".bin" / "cdk"
    path.parent.mkdir(parents=True)
    path.write_text("")
    return path


def stacks() -> set[str]:
    """The stacks CloudFormation (moto) holds, deleted ones left out."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    return {
        s["StackName"]
        for s in cfn.describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


def create_stack(name: str, values: dict[str, str]) -> None:
    """A CloudFormation stack whose only purpose is to carry `values` as outputs."""
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in values.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


@dataclass
class DeployedService:
    """One service of the World: its ECS service, target group and started tasks."""

    name: str
    service: str  # the ECS service name
    target_group_arn: str
    task_arns: list[str] = field(default_factory=list)


@dataclass
class World:
    """What a deployed environment looks like to the ops tools, built with boto3 on moto."""

    config: EnvironmentConfig
    cluster: str
    services: dict[str, DeployedService]

    def aws(self) -> Aws:
        return Aws.for_environment(self.config)

    # The first service's (`web` in the demo): most tests look at one service.
    @property
    def first(self) -> DeployedService:
        return next(iter(self.services.values()))

    @property
    def service(self) -> str:
        return self.first.service

    @property
    def target_group_arn(self) -> str:
        return self.first.target_group_arn

    @property
    def task_arns(self) -> list[str]:
        return self.first.task_arns


def build_world(
    config: EnvironmentConfig, url: str, *, running: int = 2, skip: tuple[str, ...] = ()
) -> World:
    """The platform stack (cluster, BaseUrl `url`) and, but for `skip`, every service's stack,
    ECS service (`running` tasks) and target group (`running` registered targets)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/20")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.0.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
    elbv2 = boto3.client("elbv2", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    cluster = f"{config.name}-cluster"
    ecs.create_cluster(clusterName=cluster)
    create_stack(config.stack_name(outputs.PLATFORM), {
        outputs.CLUSTER_NAME: cluster,
        outputs.BASE_URL: url,
        outputs.LISTENER_ARN: "arn:aws:elasticloadbalancing:listener/app/x",
        outputs.LOAD_BALANCER_DNS: "alb.example",
    })  # fmt: skip
    world = World(config, cluster, {})
    for index, (name, svc) in enumerate(config.services.items()):
        if name in skip:
            continue
        tg = elbv2.create_target_group(
            Name=f"{config.name}-{name}-tg", Protocol="HTTP", Port=8080, VpcId=vpc,
            TargetType="ip",
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        family, service = f"{config.name}-{name}", f"{config.name}-{name}-service"
        ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu=str(svc.cpu),
            memory=str(svc.memory),
            containerDefinitions=[{"name": "app", "image": "sample", "memory": 512}],
        )
        ecs.create_service(
            cluster=cluster,
            serviceName=service,
            taskDefinition=family,
            desiredCount=running,
            launchType="FARGATE",
        )
        deployed = DeployedService(name, service, tg)
        if running:
            tasks = ecs.run_task(
                cluster=cluster,
                taskDefinition=family,
                count=running,
                launchType="FARGATE",
                startedBy=service,
                networkConfiguration={
                    "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}
                },
            )["tasks"]
            deployed.task_arns = [t["taskArn"] for t in tasks]
            elbv2.register_targets(
                TargetGroupArn=tg,
                Targets=[{"Id": f"10.40.{index}.{10 + i}", "Port": 8080} for i in range(running)],
            )
        create_stack(config.service_stack_name(name), {
            outputs.SERVICE_NAME: service,
            outputs.TARGET_GROUP_ARN: tg,
            outputs.LOG_GROUP_NAME: f"/ecs/{family}",
            outputs.TASK_ROLE_ARN: f"arn:aws:iam::{ACCOUNT}:role/{family}-task",
        })  # fmt: skip
        world.services[name] = deployed
    return world


@dataclass
class LocalServer:
    """A 127.0.0.1 HTTP server standing in for the ALB: /health, /cpu, configurable status;
    /moved answers a 307 redirect to /."""

    url: str = ""
    health_status: int = 200
    delay_s: float = 0.0
    # Like the sample server with CPU_ENDPOINT_TOKEN set: /cpu answers 404 without it.
    cpu_token: str | None = None
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    state = LocalServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            with state.lock:
                state.hits[path] = state.hits.get(path, 0) + 1
            if state.delay_s:
                threading.Event().wait(state.delay_s)
            # Every service's health path (/health, /api/health) shares one status.
            status = state.health_status if path.endswith("/health") else 200
            if path.endswith("/moved"):  # a redirect, as an ALB's HTTP-to-HTTPS rule answers
                status = 307
            token = self.headers.get("X-Cpu-Token")
            if path.endswith("/cpu") and state.cpu_token and token != state.cpu_token:
                status = 404
            body = b'{"status":"ok"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if status == 307:
                self.send_header("Location", "/")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serve(Handler) as url:
        state.url = url
        yield state


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` on 127.0.0.1 in a thread of its own; yields its base URL, always stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def world(moto: None, http_server: LocalServer) -> World:
    """The demo's two services, deployed; `env_file` is its filled-in file."""
    return build_world(real_config(), http_server.url)


@pytest.fixture
def one_world(moto: None, http_server: LocalServer) -> World:
    """`web` alone, deployed; `one_service_env_file` is its filled-in file."""
    return build_world(real_config(ONE_SERVICE), http_server.url)


# A scheduled job beside the demo's web services (kind = "job": no ECS service).
JOB = "nightly"
WITH_JOB = {"services": {JOB: {"kind": "job", "schedule": "cron(0 3 * * ? *)"}}}


@dataclass
class DeployedJob:
    """A job's stack outputs as the job stack gives them, and the parts they name."""

    name: str
    task_definition: str
    subnets: list[str]
    security_group: str
    log_group: str


def build_job(
    world: World, name: str = JOB, *, capacity_provider: str = "FARGATE_SPOT"
) -> DeployedJob:
    """`name`'s stack (TaskDefinitionArn, TaskSubnets, ... as the job stack outputs them), its
    task definition and the network it names, on `world`'s cluster."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/20")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(2)
    ]
    sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    family = f"{world.config.name}-{name}"
    repository = world.config.repository_name(name)
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:initial"
    task_definition = boto3.client("ecs", region_name=REGION).register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": image, "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    log_group = f"/ecs/{family}"
    job = world.config.services[name].job
    scheduler = boto3.client("scheduler", region_name=REGION)
    # As the job stack makes it: a schedule group of its own, named like the schedule.
    scheduler.create_schedule_group(Name=f"{family}-schedule")
    scheduler.create_schedule(
        Name=f"{family}-schedule",
        GroupName=f"{family}-schedule",
        ScheduleExpression=job.schedule,
        ScheduleExpressionTimezone=job.timezone,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{world.cluster}",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{family}-scheduler"},
    )  # fmt: skip
    create_stack(world.config.service_stack_name(name), {
        outputs.TASK_DEFINITION_ARN: task_definition,
        outputs.TASK_SUBNETS: ",".join(subnets),
        outputs.TASK_SECURITY_GROUP: sg,
        outputs.ASSIGN_PUBLIC_IP: "DISABLED",
        outputs.CAPACITY_PROVIDER: capacity_provider,
        outputs.SCHEDULE_NAME: f"{family}-schedule",
        outputs.LOG_GROUP_NAME: log_group,
        outputs.TASK_ROLE_ARN: f"arn:aws:iam::{ACCOUNT}:role/{family}-task",
    })  # fmt: skip
    return DeployedJob(name, task_definition, subnets, sg, log_group)


@contextlib.contextmanager
def tasks_held() -> Iterator[None]:
    """moto advances a task one state per DescribeTasks until STOPPED, so a task "ends" after
    four polls whatever it runs. Real tasks stop when their container exits: hold every task
    where it is; a test (or `finish_tasks`) stops it."""
    from moto.moto_api import state_manager

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
    try:
        yield
    finally:
        state_manager.unset_transition("ecs::task")


def stop_tasks(
    started_by: str, exit_code: int, reason: str = "Essential container in task exited"
) -> list[str]:
    """What ECS does when a task's container exits: its exit code, then STOPPED. moto has no
    exit codes of its own (every container says 0), so the harness sets the one a run gives."""
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[ACCOUNT][REGION]
    stopped = []
    for cluster, tasks in list(backend.tasks.items()):
        for arn, task in list(tasks.items()):
            if task.started_by == started_by and task.last_status != "STOPPED":
                task.containers[0].exitCode = exit_code
                backend.stop_task(cluster, arn, reason)
                stopped.append(arn)
    return stopped


@contextlib.contextmanager
def finish_tasks(started_by: str, exit_code: int, after_s: float = 0.2) -> Iterator[list[str]]:
    """A harness thread that, once a task started by `started_by` appears, lets it run
    `after_s` and stops it with `exit_code`; yields the ARNs it stopped."""
    stopped: list[str] = []
    done = threading.Event()

    def finisher() -> None:
        while not done.wait(after_s):
            stopped.extend(stop_tasks(started_by, exit_code))

    thread = threading.Thread(target=finisher, daemon=True)
    with tasks_held():
        thread.start()
        try:
            yield stopped
        finally:
            done.set()
            thread.join(5)


@pytest.fixture
def service_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's ListTasks ignores serviceName (it lists every task of the cluster). build_world
    starts a service's tasks with startedBy = the service's name: filter on that, as ECS
    filters on the service that started them."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.list_tasks

    def list_tasks(self, cluster, instance, family, started_by, service_name, desired):
        found = original(self, cluster, instance, family, started_by, service_name, desired)
        return [t for t in found if t.started_by == service_name] if service_name else found

    monkeypatch.setattr(EC2ContainerServiceBackend, "list_tasks", list_tasks)


def connect(world: World, name: str, port: int, dns_name: str | None = None) -> None:
    """What ECS shows for a backend's Service Connect (moto drops the configuration): its
    primary deployment publishes `dns_name` (the service's name) at `port`."""
    from moto.ecs.models import ecs_backends

    service = world.services[name].service
    for svc in ecs_backends[ACCOUNT][REGION].services.values():
        if svc.name == service:
            svc.deployments[0]["serviceConnectConfiguration"] = {
                "enabled": True,
                "namespace": world.config.name,
                "services": [{"portName": "http", "clientAliases": [
                    {"dnsName": dns_name or name, "port": port}]}],
            }  # fmt: skip
