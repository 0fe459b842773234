"""What AWS would refuse at deploy time is refused at synth: one line, exit 2, nothing written.
Limits come from config/limits.py (each with its source)."""

from __future__ import annotations

import json

import pytest

from fargate_env.config.limits import ECS_TASK_DEFINITION_BYTES
from fargate_env.config.task_definition import TASK_DEFINITION_OWN_BYTES, TASK_ENVIRONMENT
from tests.conftest import make_config
from tests.test_config_load_balancer import run_bad

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"


def api(**section) -> dict:
    return {"services": {"api": section}}


# A task definition whose environment alone is over ECS's size limit.
BIG_ENV = {f"VALUE_{i}": "x" * 1000 for i in range(ECS_TASK_DEFINITION_BYTES // 1000)}

BAD = [
    (
        "cidr-loopback",
        {"network": {"cidr": "127.0.0.0/20"}},
        ["network.cidr", "127.0.0.0/8", "loopback", "CreateVpc refuses"],
    ),
    ("cidr-multicast", {"network": {"cidr": "224.10.0.0/20"}}, ["network.cidr", "multicast"]),
    ("cidr-link-local", {"network": {"cidr": "169.254.0.0/20"}}, ["network.cidr", "link-local"]),
    ("cidr-this-network", {"network": {"cidr": "0.10.0.0/20"}}, ["network.cidr", "'this network'"]),
    (
        "cidr-docker-bridge",
        {"network": {"cidr": "172.17.0.0/20"}},
        ["network.cidr", "172.17.0.0/16", "AWS says not to use"],
    ),
    (
        "port-differs",
        api(environment={"PORT": "9999"}),
        ["services.api", "environment.PORT (9999) differs from container_port (8080)"],
    ),
    (
        "env-and-secret",
        api(environment={"DB_HOST": "db"}, secrets={"DB_HOST": ARN}),
        ["services.api", "DB_HOST is both in environment and in secrets"],
    ),
    (
        "env-set-by-task",
        api(environment={"HEALTH_PATH": "/x"}),
        ["services.api", "environment.HEALTH_PATH", "sets it"],
    ),
    (
        "secret-set-by-task",
        api(secrets={"SERVICE_NAME": ARN}),
        ["services.api", "secrets.SERVICE_NAME"],
    ),
    (
        "task-definition-size",
        api(environment=BIG_ENV),
        ["services.api", "KiB", "ECS refuses a task definition over 64 KiB"],
    ),
]


@pytest.mark.parametrize(("case", "overrides", "words"), BAD, ids=[b[0] for b in BAD])
def test_what_aws_would_refuse_is_one_line_exit_2(tmp_path, case, overrides, words):
    line = run_bad(tmp_path, overrides)
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


def test_port_equal_to_the_container_port_and_public_blocks_are_accepted():
    config = make_config(
        {"network": {"cidr": "100.70.0.0/20"}, **api(environment={"PORT": "8080"})}
    )
    assert config.services["api"].environment["PORT"] == "8080"


def test_the_size_limit_leaves_room_for_a_large_but_legal_environment():
    env = {f"VALUE_{i}": "x" * 1000 for i in range(40)}  # about 41 KiB
    assert len(make_config(api(environment=env)).services["api"].environment) == 42


def test_the_room_kept_for_the_rest_of_a_task_definition_holds_the_demos(demo):
    """TASK_DEFINITION_OWN_BYTES must hold everything but the user's variables (measured on
    the demo's template, intrinsic functions included, so an over-estimate)."""
    template = demo.template_json("service:web")
    [task] = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    props = json.loads(json.dumps(task["Properties"]))
    [container] = props["ContainerDefinitions"]
    names = {e["Name"] for e in container["Environment"]}
    assert names == set(TASK_ENVIRONMENT) | set(demo.config.services["web"].environment)
    container["Environment"] = [
        e for e in container["Environment"] if e["Name"] in TASK_ENVIRONMENT
    ]
    assert len(json.dumps(props).encode()) < TASK_DEFINITION_OWN_BYTES
