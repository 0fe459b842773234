"""Cost of load_balancer.edge = "cloudfront": no public IPv4 on the internal ALB, CloudFront's
requests and transfer past the always-free allowance, and the cheapest CloudFront profile
computed by hand against issue 16's $22.50 target (a target of ours: never in the output)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fargate_env.assembly import Environment, Stack, read_environment
from fargate_env.cli import app
from fargate_env.config import UsageAssumptions
from fargate_env.cost.compare import Variant, has_essentials, variant_config
from fargate_env.cost.prices import CLOUDFRONT_FREE_REQUESTS, CLOUDFRONT_FREE_TRANSFER_GB
from tests.conftest import CLOUDFRONT_EDGE, COMPARE_GROUP
from tests.cost.test_estimate import (
    LEAN,
    OFFICE,
    PLAN,
    H,
    P,
    alarm_metrics,
    bill_of,
    by_item,
    one_service,
    target_tracking_policies,
)

runner = CliRunner()
CF = {"load_balancer": {**CLOUDFRONT_EDGE, "certificate_arn": None}}
CF_LEAN_ONE = {**one_service(LEAN), **CF}
CF_PLAN = {**PLAN, **CF}

# Issue 16: the cheapest full-featured profile at most this a month (bench/cost_targets.py).
TARGET_USD = 22.50


def test_internal_alb_has_no_public_ipv4_lines(synth):
    alb = bill_of(synth(PLAN))
    cloudfront = bill_of(synth(CF_PLAN))
    assert by_item(alb, "alb-public-ipv4") == pytest.approx(2 * H * P["public_ipv4_hour"])
    assert by_item(cloudfront, "alb-public-ipv4") == 0
    assert not [line for line in cloudfront.lines if "public IPv4" in line.resource]
    assert by_item(cloudfront, "alb-hours") == pytest.approx(H * P["alb_hour"])
    # Same bill otherwise: the edge swaps two public IPv4 addresses for the distribution.
    assert alb.total - cloudfront.total == pytest.approx(2 * H * P["public_ipv4_hour"], abs=0.01)


def test_default_usage_is_inside_the_free_allowance_and_says_so(synth):
    bill = bill_of(synth(CF_PLAN))
    (line,) = [line for line in bill.lines if line.item == "cloudfront"]
    assert line.type == "AWS::CloudFront::Distribution"
    assert line.monthly_usd == 0
    assert "always-free 1,000 GB + 10,000,000 requests applied" in line.basis
    assert "free tier" in line.short
    assert bill.floor == pytest.approx(H * P["alb_hour"], abs=0.01)
    free = [u for u in bill.free if u.type == "AWS::CloudFront::VpcOrigin"]
    assert len(free) == 1
    assert not bill.not_priced


@pytest.mark.parametrize("allowance", [True, False])
def test_usage_past_the_allowance_is_billed(synth, allowance):
    usage = {"cloudfront_transfer_gb_month": 1500.0, "cloudfront_requests_month": 25_000_000}
    usage["cloudfront_free_allowance"] = allowance
    bill = bill_of(synth({**CF_PLAN, "cost": {"usage": usage}}))
    free_gb = CLOUDFRONT_FREE_TRANSFER_GB if allowance else 0
    free_requests = CLOUDFRONT_FREE_REQUESTS if allowance else 0
    expected = (1500 - free_gb) * 0.085 + (25_000_000 - free_requests) * 0.01 / 10_000
    assert by_item(bill, "cloudfront") == pytest.approx(expected)
    if allowance:
        assert by_item(bill, "cloudfront") == pytest.approx(500 * 0.085 + 15.0)


@pytest.mark.xdist_group(COMPARE_GROUP)
def test_cheapest_cloudfront_profile_by_hand_within_the_goal(synth, compared):
    """One service, like issue 8's goal; CloudFront's distribution within the allowance."""
    result = compared(one_service(PLAN))
    assert result.current_total == bill_of(synth(one_service(PLAN))).total
    best = result.cheapest_with_essentials
    assert best is not None
    assert best.variant == Variant(
        "public", "arm64 Spot", "office hours", lean=True, edge="cloudfront"
    )
    lean = synth(CF_LEAN_ONE).outdir
    u = UsageAssumptions()
    alarms = alarm_metrics(lean) + 2 * target_tracking_policies(lean)
    spot = 0.25 * P["fargate_spot_arm_vcpu_hour"] + 0.5 * P["fargate_spot_arm_gb_hour"]
    expected = (
        H * P["alb_hour"]  # the internal ALB: no public IPv4
        + 0.0  # CloudFront: 10 GB and 1M requests are inside 1 TB and 10M requests
        + u.alb_lcu * H * P["alb_lcu_hour"]
        + H * OFFICE * (spot + P["public_ipv4_hour"])  # tasks in public subnets keep their IP
        + OFFICE * u.log_ingest_gb_month * P["logs_ingest_gb"]
        + OFFICE * u.log_ingest_gb_month * 14 / (365 / 12) * P["logs_stored_gb_month"]
        + alarms * P["alarm_metric_month"]
        + P["kms_key_month"]
        + u.ecr_storage_gb * P["ecr_gb_month"]
        + u.access_log_storage_gb * P["s3_gb_month"]
    )
    assert best.bill.total == pytest.approx(expected, abs=0.01)
    assert expected <= TARGET_USD
    assert has_essentials(read_environment(lean))
    assert result.floors == {
        "alb": pytest.approx(H * (P["alb_hour"] + 2 * P["public_ipv4_hour"]), abs=0.01),
        "cloudfront": pytest.approx(H * P["alb_hour"], abs=0.01),
    }
    alb_best = result.cheapest_of_edge("alb")
    assert alb_best is not None and alb_best.bill.total > TARGET_USD


def test_edge_variants_drop_or_add_certificates(synth):
    demo = synth().config  # imported certificate, edge alb
    cf = variant_config(demo, Variant("public", "x86 Spot", "always on", edge="cloudfront"))
    assert cf.load_balancer.certificate_mode == "cloudfront-default"
    quick = synth(CF).config
    alb = variant_config(quick, Variant("public", "x86 Spot", "always on"))
    assert alb.load_balancer.edge == "alb"
    assert alb.load_balancer.certificate_mode == "imported"  # priced with HTTPS on the ALB


def test_cloudfront_without_https_would_not_count_as_essential():
    dist = {
        "Type": "AWS::CloudFront::Distribution",
        "Properties": {
            "DistributionConfig": {"DefaultCacheBehavior": {"ViewerProtocolPolicy": "allow-all"}}
        },
    }

    stack = Stack.from_template("edge", {"Resources": {"D": dist}})
    assert not has_essentials(Environment([stack]))


def test_compare_json_has_both_floors_and_no_goal():
    result = runner.invoke(app, ["cost", "--env", "quickstart", "--compare", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["compare"]
    assert set(data["floor_by_edge_monthly_usd"]) == {"alb", "cloudfront"}
    assert not [key for key in data if "goal" in key]
    assert data["cheapest_with_essentials"].startswith("cloudfront, public, arm64 Spot")
    assert data["cheapest_with_essentials_monthly_usd"] <= 22.50
    labels = [p["profile"] for p in data["profiles"]]
    assert any(label.startswith("cloudfront, ") for label in labels)
    assert any(label.startswith("alb, ") for label in labels)
