"""Service kinds in the config: web (default), backend, worker and job. Each contradiction is
one line naming the field and the fix; a job's `schedule = "..."` is its run schedule."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from fargate_env.config import parse_config
from fargate_env.config.cron import rate_minutes
from tests.conftest import ROOT, demo_data
from tests.test_config_load_balancer import run_bad


def with_service(**table: Any) -> dict[str, Any]:
    data = demo_data()
    data["services"]["extra"] = table
    return data


def test_web_is_the_default_kind() -> None:
    config = parse_config(demo_data())
    kinds = {name: svc.kind for name, svc in config.services.items()}
    # The demo says kind only for its backend and its job.
    assert kinds == {"web": "web", "api": "web", "orders": "backend", "nightly": "job"}
    web = [svc for svc in config.services.values() if svc.kind == "web"]
    assert all(svc.routed and svc.listens for svc in web)


def test_each_kind_parses() -> None:
    data = demo_data()
    data["services"].update(
        orders={"kind": "backend"},
        mailer={"kind": "worker", "queue": "mail-out"},
        nightly={"kind": "job", "schedule": "cron(0 3 * * ? *)"},
        hourly={"kind": "job", "schedule": "rate(6 hours)", "job": {"timeout_minutes": 5}},
    )
    services = parse_config(data).services
    assert (services["orders"].routed, services["orders"].listens) == (False, True)
    assert (services["mailer"].listens, services["mailer"].queue) == (False, "mail-out")
    assert services["nightly"].job.schedule == "cron(0 3 * * ? *)"
    assert services["nightly"].schedule is None
    assert (services["hourly"].job.schedule, services["hourly"].job.timeout_minutes) == (
        "rate(6 hours)",
        5,
    )


def test_a_job_round_trips_through_model_dump() -> None:
    """Previews and deploy re-validate dumped configs: the moved schedule must survive."""
    config = parse_config(with_service(kind="job", schedule="rate(1 day)"))
    again = parse_config(config.model_dump())
    assert again.services["extra"].job == config.services["extra"].job


def test_unrouted_non_web_services_need_no_route() -> None:
    data = demo_data()
    data["services"] = {"worker": {"kind": "worker"}}
    assert parse_config(data).default_service is None
    assert parse_config(data).routes() == []


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [("rate(1 minute)", 1), ("rate(5 minutes)", 5), ("rate(6 hours)", 360), ("rate(2 days)", 2880),
     ("cron(0 3 * * ? *)", None), ("rate(0 hours)", 0)],
)  # fmt: skip
def test_rate_minutes(expression: str, minutes: int | None) -> None:
    assert rate_minutes(expression) == minutes


BAD = [
    ("unknown-kind", with_service(kind="daemon"), ["kind", "'web', 'backend', 'worker'"]),
    ("job-without-schedule", with_service(kind="job"), ['kind = "job"', "schedule"]),
    ("schedule-string-on-web", with_service(schedule="cron(0 3 * * ? *)",
                                            routing={"path_patterns": ["/x"]}),
     ['set kind = "job"']),
    ("bad-rate", with_service(kind="job", schedule="rate(0 hours)"), ["rate(N minutes"]),
    ("bad-cron", with_service(kind="job", schedule="cron(0 3 * *)"), ["cron expression"]),
    ("both-schedules", with_service(kind="job", schedule="rate(1 day)",
                                    job={"schedule": "rate(2 days)"}), ["both set"]),
    ("queue-on-web", with_service(queue="q", routing={"path_patterns": ["/x"]}),
     ['queue: only kind = "worker"']),
    ("bad-queue-name", with_service(kind="worker", queue="my queue"), ["SQS queue name"]),
    ("routed-backend", with_service(kind="backend", routing={"path_patterns": ["/x"]}),
     ["a backend has no rule", "http://NAME:PORT"]),
    ("default-worker", with_service(kind="worker", routing={"default": True}),
     ["a worker has no rule"]),
    ("canary-worker", with_service(kind="worker", deployment={"strategy": "canary"}),
     ["deployment.strategy 'canary'", '"rolling"']),
    ("requests-backend", with_service(kind="backend", scaling={"requests_per_target": 100}),
     ["scaling.requests_per_target", "cpu_target_percent"]),
    ("offhours-job", with_service(kind="job", job={"schedule": "rate(1 day)"},
                                  schedule={"timezone": "UTC"}),
     ["off-hours scale-to-zero is for long-running"]),
]  # fmt: skip


@pytest.mark.parametrize(("data", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_kind_values_are_one_line(data: dict[str, Any], words: list[str], tmp_path) -> None:
    line = run_bad(tmp_path, data, replace=True)
    assert line.startswith("error: "), line
    for word in words:
        assert word in line, line


def test_command_overrides_the_image_cmd_and_is_never_empty(tmp_path) -> None:
    data = with_service(kind="job", schedule="rate(1 day)", command=["python", "-m", "x"])
    assert parse_config(data).services["extra"].command == ["python", "-m", "x"]
    line = run_bad(tmp_path, with_service(kind="worker", command=[]), replace=True)
    assert "command: empty" in line


def test_the_readme_shows_a_job_of_ones_own_in_five_lines() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Four kinds of service", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) == 5
    data = demo_data()
    data["services"].update(tomllib.loads(block)["services"])
    job = parse_config(data).services["report"]
    assert (job.kind, job.job.schedule, job.job.timezone) == ("job", "cron(0 3 * * ? *)", "UTC")
    assert job.image.uri == "ghcr.io/acme/report:2.3.1" and not job.builds_image
    assert job.command == ["report", "--since", "yesterday"]
