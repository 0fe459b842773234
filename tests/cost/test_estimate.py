"""The estimator against templates synthesized per profile; expectations from the price table.

The demo has two services (web, api), each 0.25 vCPU / 0.5 GB; overrides apply to both."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from fargate_env.assembly import assembly_region, read_environment
from fargate_env.config import ScheduleConfig, UsageAssumptions
from fargate_env.cost.compare import Variant, has_essentials, variant_config
from fargate_env.cost.estimate import estimate
from fargate_env.cost.prices import PRICES
from fargate_env.errors import UserError
from tests.conftest import COMPARE_GROUP

P = {k: v.usd for k, v in PRICES["us-east-1"].items()}
H = 730
# office hours of ScheduleConfig's defaults: MON-FRI 07:00-20:00 = 65 of 168 hours.
OFFICE = 65 / 168

SERVICES = ("web", "api")


def each(**settings) -> dict:
    """The same settings on every service of the demo."""
    return {"services": {name: settings for name in SERVICES}}


def one_service(overrides: dict) -> dict:
    """`overrides` on the demo without its api service (web, the catch-all, stays)."""
    return {**overrides, "services": {"web": overrides["services"]["web"], "api": None}}


PLAN = {
    "network": {"egress": "nat-gateway"},
    **each(architecture="x86_64", capacity={"spot": False}),
}
LEAN = {
    "network": {"egress": "public", "flow_logs": {"enabled": False}},
    **each(architecture="arm64", capacity={"spot": True}, schedule={}),
    "monitoring": {"dashboard": False},
}


def bill_of(synthesized):
    stacks = read_environment(synthesized.outdir)
    return estimate(stacks, assembly_region(synthesized.outdir), synthesized.config.cost.usage)


def by_item(bill, item):
    return sum(line.monthly_usd for line in bill.lines if line.item == item)


def test_plan_design_lines(synth):
    bill = bill_of(synth(PLAN))
    u = UsageAssumptions()
    assert by_item(bill, "alb-hours") == pytest.approx(H * P["alb_hour"])
    assert by_item(bill, "alb-public-ipv4") == pytest.approx(2 * H * P["public_ipv4_hour"])
    assert by_item(bill, "alb-lcu") == pytest.approx(u.alb_lcu * H * P["alb_lcu_hour"])
    assert by_item(bill, "nat-gateway") == pytest.approx(
        H * P["nat_gateway_hour"] + u.nat_processed_gb_month * P["nat_gateway_gb"]
    )
    assert by_item(bill, "eip") == pytest.approx(H * P["public_ipv4_hour"])
    # One always-on on-demand x86 task of 0.25 vCPU / 0.5 GB per service.
    task = 0.25 * P["fargate_x86_vcpu_hour"] + 0.5 * P["fargate_x86_gb_hour"]
    assert by_item(bill, "fargate") == pytest.approx(2 * H * task)
    assert by_item(bill, "task-public-ipv4") == 0
    assert by_item(bill, "kms") == pytest.approx(P["kms_key_month"])
    assert by_item(bill, "dashboard") == pytest.approx(P["dashboard_month"])
    # Per repository, one per service.
    assert by_item(bill, "ecr") == pytest.approx(2 * u.ecr_storage_gb * P["ecr_gb_month"])
    assert bill.floor == pytest.approx(23.73, abs=0.01)
    assert not bill.not_priced


def test_lean_profile_prices_spot_schedule_and_task_ips(synth):
    bill = bill_of(synth(LEAN))
    spot = 0.25 * P["fargate_spot_arm_vcpu_hour"] + 0.5 * P["fargate_spot_arm_gb_hour"]
    assert by_item(bill, "fargate") == pytest.approx(2 * H * OFFICE * spot)
    assert by_item(bill, "task-public-ipv4") == pytest.approx(
        2 * H * OFFICE * P["public_ipv4_hour"]
    )
    assert by_item(bill, "nat-gateway") == by_item(bill, "eip") == 0
    assert by_item(bill, "dashboard") == 0


def test_nat_instance_with_default_root_volume_and_public_ip(synth):
    bill = bill_of(synth({"network": {"egress": "nat-instance"}}))
    assert by_item(bill, "ec2-instance") == pytest.approx(H * P["ec2_t4g.nano_hour"])
    assert by_item(bill, "ebs") == pytest.approx(8 * P["ebs_gp3_gb_month"])
    assert by_item(bill, "ec2-public-ipv4") == pytest.approx(H * P["public_ipv4_hour"])


def test_arm64_prices_graviton_rates(synth):
    bill = bill_of(synth(each(architecture="arm64", capacity={"spot": False})))
    task = 0.25 * P["fargate_arm_vcpu_hour"] + 0.5 * P["fargate_arm_gb_hour"]
    assert by_item(bill, "fargate") == pytest.approx(2 * H * task)


def test_arm64_on_spot_prices_the_arm_spot_rates_marked_unverified(synth):
    bill = bill_of(synth(each(architecture="arm64", capacity={"spot": True})))
    task = 0.25 * P["fargate_spot_arm_vcpu_hour"] + 0.5 * P["fargate_spot_arm_gb_hour"]
    assert by_item(bill, "fargate") == pytest.approx(2 * H * task)
    x86_spot = 0.25 * P["fargate_spot_x86_vcpu_hour"] + 0.5 * P["fargate_spot_x86_gb_hour"]
    assert task < x86_spot
    unverified = bill.assumptions["unverified_prices"]
    assert {"fargate_spot_arm_vcpu_hour", "fargate_spot_arm_gb_hour"} <= set(unverified)


def test_log_ingest_is_per_application_log_group(synth):
    bill = bill_of(synth(PLAN))
    u = UsageAssumptions()
    per_group = u.log_ingest_gb_month * (
        P["logs_ingest_gb"] + 14 / (365 / 12) * P["logs_stored_gb_month"]
    )
    lines = [line for line in bill.lines if line.item == "logs"]
    assert sorted(line.service for line in lines) == ["api", "web"]
    assert [line.monthly_usd for line in lines] == pytest.approx([per_group, per_group])


def alarm_metrics(outdir) -> int:
    """Metrics the alarms watch: one each, or each MetricStat of a metric-math alarm."""
    total = 0
    for stack in read_environment(outdir):
        for res in stack.resources.values():
            if res.type == "AWS::CloudWatch::Alarm":
                metrics = res.get("Metrics")
                total += sum("MetricStat" in m for m in metrics) if metrics else 1
    return total


def target_tracking_policies(outdir) -> int:
    return sum(
        res.type == "AWS::ApplicationAutoScaling::ScalingPolicy"
        and res.properties["PolicyType"] == "TargetTrackingScaling"
        for stack in read_environment(outdir)
        for res in stack.resources.values()
    )


def test_alarms_priced_per_metric(synth):
    result = synth(PLAN)
    metrics = alarm_metrics(result.outdir)
    assert metrics > 0
    assert by_item(bill_of(result), "alarm") == pytest.approx(metrics * P["alarm_metric_month"])


def test_target_tracking_policies_pay_for_their_two_alarms(synth):
    scaled = synth(each(scaling={"memory_target_percent": 70}))
    assert target_tracking_policies(scaled.outdir) == 2 * 2  # CPU and memory, per service
    assert by_item(bill_of(scaled), "scaling-alarm") == pytest.approx(
        2 * 2 * 2 * P["alarm_metric_month"]
    )
    assert by_item(bill_of(synth(PLAN)), "scaling-alarm") == pytest.approx(
        2 * 2 * P["alarm_metric_month"]
    )


def test_unknown_type_is_listed_not_dropped(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "extra", env=cdk.Environment(region="us-east-1"))
    sqs.Queue(stack, "Queue")
    app.synth()
    bill = estimate(read_environment(tmp_path), "us-east-1", UsageAssumptions())
    assert [u.type for u in bill.not_priced] == ["AWS::SQS::Queue"]
    assert bill.to_json()["not_priced"][0]["type"] == "AWS::SQS::Queue"


def test_unknown_region_is_a_user_error(synth):
    with pytest.raises(UserError, match="no price table for region 'ap-south-2'"):
        estimate(read_environment(synth(PLAN).outdir), "ap-south-2", UsageAssumptions())


@pytest.mark.xdist_group(COMPARE_GROUP)
def test_cheapest_full_profile_of_one_service_within_goal_of_floor(synth, compared):
    # The floor goal was set for an environment of one service.
    plan, lean_one = one_service(PLAN), one_service(LEAN)
    config = synth(plan).config
    assert list(config.services) == ["web"]
    result = compared(plan)
    assert result.current_total == bill_of(synth(plan)).total
    # Issue 8's goal is the internet-facing ALB's (tests/cost/test_edge_cost.py: CloudFront's).
    best = result.cheapest_of_edge("alb")
    assert best is not None
    # Hand-computed: ALB floor + LCU + ARM Spot task and its IP for office hours + service logs +
    # alarms (its own and target tracking's) + KMS key + ECR + access logs; no NAT, no
    # dashboard, no flow logs.
    u = UsageAssumptions()
    lean = synth(lean_one).outdir  # the cheapest profile is LEAN
    alarms = alarm_metrics(lean) + 2 * target_tracking_policies(lean)
    spot = 0.25 * P["fargate_spot_arm_vcpu_hour"] + 0.5 * P["fargate_spot_arm_gb_hour"]
    floor = H * P["alb_hour"] + 2 * H * P["public_ipv4_hour"]
    expected = (
        floor
        + u.alb_lcu * H * P["alb_lcu_hour"]
        + H * OFFICE * (spot + P["public_ipv4_hour"])
        # The service logs only while it runs (office hours).
        + OFFICE * u.log_ingest_gb_month * P["logs_ingest_gb"]
        + OFFICE * u.log_ingest_gb_month * 14 / (365 / 12) * P["logs_stored_gb_month"]
        + alarms * P["alarm_metric_month"]
        + P["kms_key_month"]
        + u.ecr_storage_gb * P["ecr_gb_month"]
        + u.access_log_storage_gb * P["s3_gb_month"]
    )
    assert best.variant.label == "alb, public, arm64 Spot, office hours, no dashboard or flow logs"
    assert best.bill.total == pytest.approx(expected, abs=0.01)
    assert expected <= 1.25 * floor
    assert best.bill.total <= 1.25 * floor
    plan_row = next(row for row in result.rows if row.variant.is_plan)
    assert plan_row.bill.total / floor > 2.5
    assert has_essentials(read_environment(synth(plan).outdir))


def test_variants_apply_to_every_service(synth):
    config = synth(PLAN).config
    variant = Variant("public", "arm64 on-demand", "office hours")
    assert variant.edge == "alb"
    changed = variant_config(config, variant)
    for service in changed.services.values():
        assert service.architecture == "arm64"
        assert not service.capacity.spot
        assert service.schedule == ScheduleConfig()
    always = variant_config(changed, Variant("public", "x86 Spot", "always on"))
    assert all(s.schedule is None and s.capacity.spot for s in always.services.values())
