"""Fixtures for the ops tools: moto with a deployed-looking environment, a local HTTP server."""

from __future__ import annotations

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
from tests.conftest import DEMO_TOML, make_config

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-4000-8000-000000000001"
REAL = {"account": ACCOUNT, "load_balancer": {"certificate_arn": CERT}}


def real_config(overrides: dict | None = None) -> EnvironmentConfig:
    """The demo environment with a (moto) account instead of its placeholders."""
    from tests.conftest import merge

    return make_config(merge(REAL, overrides or {}))


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """demo.toml with the placeholders replaced: what a user's filled-in file looks like."""
    text = DEMO_TOML.read_text().replace("000000000000", ACCOUNT)
    text = text.replace('region = "us-east-1"', f'region = "us-east-1"\naccount = "{ACCOUNT}"')
    path = tmp_path / "real.toml"
    path.write_text(text)
    return path


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
class World:
    """What a deployed environment looks like to the ops tools, built with boto3 on moto."""

    config: EnvironmentConfig
    cluster: str
    service: str
    target_group_arn: str
    task_arns: list[str] = field(default_factory=list)

    def aws(self) -> Aws:
        return Aws.for_environment(self.config)


def build_world(config: EnvironmentConfig, url: str, *, running: int = 2) -> World:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/20")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.0.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]

    elbv2 = boto3.client("elbv2", region_name=REGION)
    tg = elbv2.create_target_group(
        Name=f"{config.name}-tg", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]

    ecs = boto3.client("ecs", region_name=REGION)
    cluster, service = f"{config.name}-cluster", f"{config.name}-service"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="sample",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu=str(config.service.cpu),
        memory=str(config.service.memory),
        containerDefinitions=[{"name": "app", "image": "sample", "memory": 512}],
    )
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition="sample",
        desiredCount=running,
        launchType="FARGATE",
    )
    world = World(config, cluster, service, tg)
    if running:
        tasks = ecs.run_task(
            cluster=cluster,
            taskDefinition="sample",
            count=running,
            launchType="FARGATE",
            startedBy=service,
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}
            },
        )["tasks"]
        world.task_arns = [t["taskArn"] for t in tasks]
        elbv2.register_targets(
            TargetGroupArn=tg,
            Targets=[{"Id": f"10.40.0.{10 + i}", "Port": 8080} for i in range(running)],
        )
    create_stack(config.stack_name(outputs.LOAD_BALANCER), {
        outputs.SERVICE_URL: url,
        outputs.TARGET_GROUP_ARN: tg,
        outputs.LOAD_BALANCER_DNS: "alb.example",
    })  # fmt: skip
    create_stack(config.stack_name(outputs.SERVICE), {
        outputs.CLUSTER_NAME: cluster,
        outputs.SERVICE_NAME: service,
    })  # fmt: skip
    return world


@dataclass
class LocalServer:
    """A 127.0.0.1 HTTP server standing in for the ALB: /health, /cpu, configurable status."""

    url: str = ""
    health_status: int = 200
    delay_s: float = 0.0
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
            status = state.health_status if path == "/health" else 200
            body = b'{"status":"ok"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def world(moto: None, http_server: LocalServer) -> World:
    return build_world(real_config(), http_server.url)
