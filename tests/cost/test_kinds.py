"""cost per kind: a job priced as runs x duration, a backend's Service Connect proxy share,
the bill grouped by kind, and the marginal backend, worker and job beside the web one."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.cost import marginal as marginal_module
from fargate_env.cost.compare import current_bill
from fargate_env.cost.estimate import PROXY_ITEM
from fargate_env.cost.marginal import KIND_PROBES, marginal_service, probe_config
from fargate_env.cost.prices import PRICES
from fargate_env.cost.report import render_bill
from tests.conftest import make_config, merge
from tests.kinds import BACKEND, JOB, KINDS, WORKER
from tests.ops.conftest import write_env_file

P = {k: v.usd for k, v in PRICES["us-east-1"].items()}
H = 730
SPOT_TASK = 0.25 * P["fargate_spot_x86_vcpu_hour"] + 0.5 * P["fargate_spot_x86_gb_hour"]
DAILY = 7 * H / 168  # cron(0 3 * * ? *): 7 runs a week


@pytest.fixture(scope="module")
def kinds_bill():
    config = make_config(KINDS)
    return config, current_bill(config)


def lines_of(bill, service: str, item: str | None = None):
    return [
        line
        for line in bill.lines
        if line.service == service and (item is None or line.item == item)
    ]


def test_a_job_is_priced_as_runs_times_duration(kinds_bill) -> None:
    config, bill = kinds_bill
    minutes = config.cost.usage.job_run_minutes
    (run,) = lines_of(bill, JOB, "fargate-job")
    assert run.type == "AWS::Scheduler::Schedule"
    assert run.monthly_usd == pytest.approx(DAILY * minutes / 60 * SPOT_TASK)
    assert "cost.usage.job_run_minutes" in run.basis
    assert "cron(0 3 * * ? *) Europe/Berlin" in run.basis and "100% Spot" in run.basis
    # Nothing runs between runs: no ECS service line, and its logs scale with the runs.
    assert not lines_of(bill, JOB, "fargate")
    (logs,) = lines_of(bill, JOB, "logs")
    share = DAILY * minutes / 60 / H
    ingest = config.cost.usage.log_ingest_gb_month * share
    kept = ingest * 14 / (365 / 12)  # 14-day retention
    assert logs.monthly_usd == pytest.approx(
        ingest * P["logs_ingest_gb"] + kept * P["logs_stored_gb_month"]
    )
    assert f"runs {share:.1%} of the month" in logs.short


def test_a_rate_job_on_demand_is_priced_at_the_on_demand_rate() -> None:
    job = {"schedule": "rate(6 hours)", "capacity": {"spot": False}}
    bill = current_bill(make_config(merge(KINDS, {"services": {JOB: job}})))
    (run,) = lines_of(bill, JOB, "fargate-job")
    on_demand = 0.25 * P["fargate_x86_vcpu_hour"] + 0.5 * P["fargate_x86_gb_hour"]
    assert run.monthly_usd == pytest.approx(H / 6 * 10 / 60 * on_demand)
    assert "0% Spot" in run.short


def test_the_service_connect_proxy_share_is_split_off_the_task_not_added(kinds_bill) -> None:
    _, bill = kinds_bill
    (task,) = lines_of(bill, BACKEND, "fargate")
    (proxy,) = lines_of(bill, BACKEND, PROXY_ITEM)
    assert task.monthly_usd + proxy.monthly_usd == pytest.approx(H * SPOT_TASK)
    # 256 CPU units (all of a 0.25 vCPU task) and 64 MiB of its 512.
    share = (0.25 * P["fargate_spot_x86_vcpu_hour"] + 0.0625 * P["fargate_spot_x86_gb_hour"]) / (
        SPOT_TASK
    )
    assert proxy.monthly_usd == pytest.approx(H * SPOT_TASK * share)
    assert "a backend's server" in proxy.basis and "not on top of it" in proxy.basis
    # Every long-running service of an environment with a backend is a client.
    assert lines_of(bill, WORKER, PROXY_ITEM) and lines_of(bill, "web", PROXY_ITEM)
    assert not lines_of(bill, JOB, PROXY_ITEM)


def test_every_kind_is_priced_and_nothing_is_left_unpriced(kinds_bill) -> None:
    _, bill = kinds_bill
    assert bill.not_priced == []
    assert bill.kinds == {"web": "web", "api": "web", BACKEND: "backend", WORKER: "worker",
                          JOB: "job"}  # fmt: skip


def test_the_bill_groups_services_by_kind(kinds_bill) -> None:
    _, bill = kinds_bill
    groups = bill.kind_subtotals()
    assert list(groups) == ["web", "backend", "worker", "job"]
    assert list(groups["web"]) == ["web", "api"]
    data = bill.to_json()
    assert {s["name"]: s["kind"] for s in data["services"]}[JOB] == "job"
    assert data["kinds"]["web"]["services"] == 2
    assert round(sum(k["monthly_usd"] for k in data["kinds"].values()) + bill.shared, 2) == (
        bill.total
    )
    out = Console(width=80, file=io.StringIO())
    render_bill(out, bill, "kinds", 200.0)
    text = out.file.getvalue()
    assert "web services (2)" in text and "backends (1)" in text and "jobs (1)" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_probe_config_adds_one_of_each_kind() -> None:
    config = make_config(KINDS)
    probe = probe_config(config, office_hours=False, kinds=True)
    added = {n: probe.services[n] for n in probe.services if n not in config.services}
    assert {svc.kind for svc in added.values()} == {"web", "backend", "worker", "job"}
    job = probe.services[KIND_PROBES["job"]]
    assert job.job.schedule == config.services[JOB].job.schedule  # a clone of the job
    assert probe.services[KIND_PROBES["worker"]].queue == config.services[WORKER].queue


def test_a_config_without_a_kind_gets_a_new_one_at_the_defaults() -> None:
    probe = probe_config(make_config(), office_hours=False, kinds=True)
    assert probe.services[KIND_PROBES["job"]].job.schedule == marginal_module.DEFAULT_JOB_SCHEDULE
    assert probe.services[KIND_PROBES["backend"]].cpu == 256


def test_marginal_of_each_kind_in_two_syntheses(kinds_bill, monkeypatch) -> None:
    config, bill = kinds_bill
    calls = []
    original = marginal_module.price
    monkeypatch.setattr(marginal_module, "price", lambda *a: calls.append(a) or original(*a))
    marginal = marginal_service(config)
    # Two syntheses (always on: web + backend + worker + job; office hours: web), each of
    # the probes alone: none of the environment's own services is synthesized again.
    assert [sorted(c[0].services) for c in calls] == [
        sorted(["marginal-probe", *KIND_PROBES.values()]),
        ["marginal-probe"],
    ]
    subtotals = bill.service_subtotals()
    # A clone of each existing kind costs what its original does.
    assert marginal.kinds["backend"]["monthly_usd"] == subtotals[BACKEND]
    assert marginal.kinds["worker"]["monthly_usd"] == subtotals[WORKER]
    assert marginal.kinds["job"]["monthly_usd"] == subtotals[JOB]
    assert marginal.monthly_usd["always_on"] == subtotals["web"]
    assert marginal.kinds["backend"]["proxy_usd"] == pytest.approx(
        sum(round(line.monthly_usd, 2) for line in lines_of(bill, BACKEND, PROXY_ITEM))
    )
    data = marginal.to_json()
    assert set(data["marginal_by_kind_monthly_usd"]) == {"web", "backend", "worker", "job"}


@pytest.mark.parametrize("overrides", [None, KINDS], ids=["demo", "every kind"])
def test_probes_alone_cost_what_they_cost_in_the_whole_environment(overrides, tmp_path) -> None:
    """Why the probes may be synthesized alone: in a full synthesis of the environment plus
    every probe, each probe's lines are the same and the shared stacks' lines do not move."""
    config = make_config(overrides)
    current = current_bill(config)
    probe = probe_config(config, office_hours=False, kinds=True)
    full = marginal_module.price(probe, tmp_path / "full")
    alone = marginal_module.price(marginal_module.probes_only(probe, config), tmp_path / "alone")
    added = [n for n in probe.services if n not in config.services]
    assert {n: full.service_subtotals()[n] for n in added} == {
        n: alone.service_subtotals()[n] for n in added
    }
    assert full.shared == current.shared
    # Nor does any service of the environment change.
    assert {n: full.service_subtotals()[n] for n in config.services} == current.service_subtotals()


def test_cli_prints_the_marginal_of_each_kind(tmp_path) -> None:
    # Previews off: a preview of an environment with a backend does not synthesize yet
    # ("Cannot enable DNS service discovery for HTTP Cloudmap Namespace", the CDK side).
    no_previews = {
        "load_balancer": {
            "preview_domain": None,
            "preview_hosted_zone_id": None,
            "preview_hosted_zone_name": None,
        }
    }
    env_file = write_env_file(tmp_path / "kinds.toml", merge(KINDS, no_previews))
    result = CliRunner().invoke(
        app, ["cost", "--env-file", str(env_file), "--format", "json"], env={"COLUMNS": "80"}
    )
    assert result.exit_code in (0, 1), result.output  # 1: over the demo's budget
    data = json.loads(result.stdout)
    by_kind = data["marginal_by_kind_monthly_usd"]
    assert set(by_kind) == {"web", "backend", "worker", "job"}
    assert 0 < by_kind["job"] < by_kind["web"]


def test_a_jobs_state_machine_is_priced_per_transition(kinds_bill) -> None:
    _, bill = kinds_bill
    (machine,) = lines_of(bill, JOB, "step-functions")
    assert machine.type == "AWS::StepFunctions::StateMachine"
    # Run, ExitCode, Exited0: three transitions a successful run, every run of the month.
    assert machine.monthly_usd == pytest.approx(DAILY * 3 * P["sfn_state_transition"])
    assert P["sfn_state_transition"] == pytest.approx(0.025 / 1000)


def test_an_environment_without_a_web_service_gets_a_new_web_probe() -> None:
    config = make_config({"services": {"web": None, "api": None, **{WORKER: {"kind": "worker"}}}})
    marginal = marginal_service(config)
    assert (marginal.template, marginal.description) == ("", "defaults")
    assert marginal.monthly_usd["always_on"] > marginal.monthly_usd["office_hours"] > 0
    out = Console(width=80, file=io.StringIO())
    render_bill(out, current_bill(config), "worker only", 80.0, marginal)
    assert "one more web service (new, defaults), synthesized:" in out.file.getvalue()
