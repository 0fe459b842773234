"""Bad `[services.NAME]` input: one line naming the field and what is allowed, exit 2."""

from __future__ import annotations

import pytest

from tests.conftest import make_config
from tests.test_config_load_balancer import run_bad

SCHEDULE = {"timezone": "Europe/Berlin"}
# (id, service overrides, words the line must hold)
BAD = [
    ("cpu-not-fargate", {"cpu": 300}, ["services.web.cpu", "256, 512, 1024"]),
    (
        "memory-not-a-pair",
        {"cpu": 256, "memory": 4096},
        ["services.web", "memory 4096 MiB", "cpu 256", "512-2048"],
    ),
    (
        "memory-off-step",
        {"cpu": 1024, "memory": 2500},
        ["memory 2500 MiB", "2048-8192", "steps of 1024"],
    ),
    (
        "arm64-platform-below-1.4.0",
        {"architecture": "arm64", "capacity": {"spot": True}, "platform_version": "1.3.0"},
        ["services.web", "platform_version '1.3.0'", "ARM64", "1.4.0 or later"],
    ),
    (
        "platform-version-unknown",
        {"platform_version": "1.5.0"},
        ["services.web.platform_version", "LATEST", "1.4.0"],
    ),
    ("architecture-unknown", {"architecture": "x86"}, ["services.web.architecture", "x86_64"]),
    (
        "min-above-max",
        {"scaling": {"min_tasks": 5, "max_tasks": 4}},
        ["services.web.scaling", "min_tasks (5) must not exceed max_tasks (4)"],
    ),
    (
        "max-above-ten",
        {"scaling": {"max_tasks": 11}},
        ["services.web.scaling.max_tasks", "at most 10", "non-production"],
    ),
    (
        "cpu-target-low",
        {"scaling": {"cpu_target_percent": 9}},
        ["services.web.scaling.cpu_target_percent", "10 and 90"],
    ),
    (
        "cpu-target-high",
        {"scaling": {"cpu_target_percent": 91}},
        ["services.web.scaling.cpu_target_percent", "10 and 90"],
    ),
    (
        "memory-target",
        {"scaling": {"memory_target_percent": 95}},
        ["services.web.scaling.memory_target_percent", "10 and 90"],
    ),
    (
        "cron-not-aws",
        {"schedule": {**SCHEDULE, "stop": "0 20 * * 1-5"}},
        ["services.web.schedule.stop", "cron(min hour day-of-month month day-of-week year)"],
    ),
    (
        "cron-five-fields",
        {"schedule": {**SCHEDULE, "start": "cron(0 7 * * MON-FRI)"}},
        ["services.web.schedule.start", "AWS cron expression"],
    ),
    (
        "cron-two-wildcard-days",
        {"schedule": {**SCHEDULE, "stop": "cron(0 20 * * MON-FRI *)"}},
        ["services.web.schedule.stop", "'?' in exactly one of day-of-month and day-of-week"],
    ),
    (
        "cron-hour-out-of-range",
        {"schedule": {**SCHEDULE, "stop": "cron(0 25 ? * MON-FRI *)"}},
        ["services.web.schedule.stop", "out-of-range"],
    ),
    (
        "timezone-unknown",
        {"schedule": {"timezone": "Mars/Olympus"}},
        ["services.web.schedule.timezone", "IANA timezone like Europe/Berlin"],
    ),
    (
        "secret-neither",
        {"secrets": {"DB_PASSWORD": "arn:aws:s3:::bucket/key"}},
        ["services.web.secrets", "DB_PASSWORD", "Secrets Manager secret ARN", "SSM parameter"],
    ),
    (
        "secret-bad-name",
        {"secrets": {"1BAD": "/app/x"}},
        ["services.web.secrets", "invalid environment variable name"],
    ),
    ("port-zero", {"container_port": 0}, ["services.web.container_port", "1 and 65535"]),
    ("port-high", {"container_port": 65536}, ["services.web.container_port", "1 and 65535"]),
    (
        "retention",
        {"log_retention_days": 10},
        ["services.web.log_retention_days", "14"],
    ),
    (
        "stop-timeout",
        {"stop_timeout_seconds": 121},
        ["services.web.stop_timeout_seconds", "120"],
    ),
    ("on-demand-base", {"capacity": {"on_demand_base": 11}}, ["capacity.on_demand_base", "10"]),
    ("image-tag", {"image_tag": "bad tag"}, ["services.web.image_tag", "Docker tag"]),
    ("env-name", {"environment": {"BAD-NAME": "x"}}, ["services.web.environment", "BAD-NAME"]),
]


@pytest.mark.parametrize(("case", "overrides", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_service_input_is_one_line_exit_2(tmp_path, case, overrides, words):
    line = run_bad(tmp_path, {"services": {"web": overrides}})
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


def test_defaults_of_the_service_section():
    svc = make_config().services["web"]
    assert (svc.cpu, svc.memory, svc.architecture) == (256, 512, "x86_64")
    assert svc.log_retention_days == 14
    assert svc.capacity.spot is True and svc.capacity.on_demand_base == 0
    scaling = svc.scaling
    assert (scaling.min_tasks, scaling.max_tasks, scaling.cpu_target_percent) == (1, 4, 60)
    assert scaling.memory_target_percent is None and scaling.requests_per_target is None
    assert svc.schedule is None and svc.enable_exec is False
    assert svc.read_only_root_filesystem is True


def test_accepted_edge_values():
    svc = make_config(
        {
            "services": {
                "web": {
                    "cpu": 16384,
                    "memory": 122880,
                    "architecture": "arm64",
                    "capacity": {"spot": False},
                    "container_port": 65535,
                    "scaling": {"min_tasks": 10, "max_tasks": 10, "cpu_target_percent": 90},
                    "secrets": {
                        "A": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf",
                        "B": "/a/b",
                        "C": "plain-name",
                    },
                    "schedule": {"timezone": "UTC", "stop": "cron(0 20 ? * MON-FRI *)"},
                }
            }
        }
    ).services["web"]
    assert svc.scaling.max_tasks == 10 and svc.schedule.timezone == "UTC"
