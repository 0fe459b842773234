"""cost/report.py: what `cost --compare` prints: one floor, the config keys behind each
profile, your budget; never our own targets."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from fargate_env.cost.compare import Comparison, Priced, Variant, config_keys, variant_config
from fargate_env.cost.estimate import Bill, BillLine
from fargate_env.cost.report import comparison_json, render_comparison
from tests.conftest import make_config
from tests.kinds import JOB, KINDS

LB = "AWS::ElasticLoadBalancingV2::LoadBalancer"


def bill(alb_hours: float, edge_cost: float, rest: float) -> Bill:
    item = "alb-public-ipv4" if edge_cost else ""
    lines = [
        BillLine("p", "Alb", LB, alb_hours, "", "alb-hours"),
        BillLine("p", "Alb public IPv4", LB, edge_cost, "", item),
        BillLine("s", "Service", "AWS::ECS::Service", rest, "", "", "web"),
    ]
    return Bill("us-east-1", lines)


@pytest.fixture
def comparison() -> Comparison:
    current = bill(16.43, 7.30, 50.0)
    rows = [
        Priced(Variant("public", "x86 Spot", "office hours", True, "cloudfront"),
               bill(16.43, 0.0, 9.46), essentials=True),
        Priced(Variant("public", "x86 Spot", "office hours", True, "alb"),
               bill(16.43, 7.30, 9.46), essentials=True),
        Priced(Variant("nat-gateway", "x86 on-demand", "always on"), current, essentials=True),
    ]  # fmt: skip
    return Comparison(current_total=current.total, floor=current.floor, rows=rows)


def test_one_floor_in_the_table_and_the_summary(comparison: Comparison) -> None:
    out = io.StringIO()
    render_comparison(Console(file=out, width=80, color_system=None), comparison, budget=40)
    text = out.getvalue()
    assert comparison.floor == 23.73
    # The table's ratio for the cheapest profile is the summary's ratio for it.
    row = next(line for line in text.splitlines() if line.startswith("cloudfront, public"))
    ratio = re.split(r"\s{2,}", row.strip())[2]
    assert ratio == f"{25.89 / 23.73:.2f}"
    summary = " ".join(text[text.index("cheapest with HTTPS") :].split())
    assert f"$25.89 = {ratio} x floor" in summary
    assert "its floor" not in text and "floor, edge" not in text
    assert len(set(re.findall(r"floor, \$(\d+\.\d\d)", " ".join(text.split())))) == 1
    # The user's own budget, named; never a target of ours.
    assert "$14.11 under your budget ($40.00, cost.monthly_budget_usd)" in summary
    assert "goal" not in text


def test_the_config_keys_behind_each_profile_are_shown(comparison: Comparison) -> None:
    out = io.StringIO()
    render_comparison(Console(file=out, width=80, color_system=None), comparison, budget=40)
    text = " ".join(out.getvalue().split())
    for key in ("load_balancer.edge", "network.egress", 'services.*.architecture = "arm64"',
                ".capacity.spot = true", "services.*.schedule", "monitoring.dashboard = false",
                "network.flow_logs.enabled = false"):  # fmt: skip
        assert key in text, key
    data = comparison_json(comparison)
    assert data["profiles"][0]["config"]["load_balancer.edge"] == "cloudfront"
    assert not [key for key in data if "goal" in key]


@pytest.mark.parametrize(
    "variant",
    [
        Variant("public", "x86 Spot", "office hours", True, "cloudfront"),
        Variant("nat-instance", "arm64 on-demand", "always on", False, "alb"),
    ],
)
def test_config_keys_are_what_variant_config_sets(variant: Variant) -> None:
    config = variant_config(make_config(), variant)
    keys = config_keys(variant)
    assert config.load_balancer.edge == keys["load_balancer.edge"]
    assert config.network.egress == keys["network.egress"]
    for service in config.services.values():
        assert service.architecture == keys["services.*.architecture"]
        assert service.capacity.spot == keys["services.*.capacity.spot"]
        assert (service.schedule is None) == (keys["services.*.schedule"] is None)
    assert config.monitoring.dashboard == keys.get("monitoring.dashboard", True)
    assert config.network.flow_logs.enabled == keys.get("network.flow_logs.enabled", True)


def test_office_hours_leave_a_job_on_its_own_schedule() -> None:
    """A job has no off-hours scale-to-zero (the config refuses one): the office-hours
    profiles of an environment with a job are priced, not skipped."""
    variant = Variant("nat-gateway", "x86 Spot", "office hours", False, "alb")
    config = variant_config(make_config(KINDS), variant)
    assert config.services[JOB].schedule is None
    assert config.services[JOB].job.schedule == KINDS["services"][JOB]["schedule"]
    assert all(svc.schedule is not None for svc in config.services.values() if svc.kind != "job")
