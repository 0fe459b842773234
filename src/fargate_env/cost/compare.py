"""Profile comparison: synthesize the variants of a config and price each one.

Variants cross egress mode x compute (on-demand x86, Spot x86, on-demand arm64; AWS has no
Fargate Spot on ARM64) x schedule (always on, office hours), each applied to every service, then
the cheapest of them once more "lean": without the dashboard and the VPC flow logs, the two
optional extras that are neither HTTPS, health checks, autoscaling nor alarms. Each variant is
re-validated through the config model, synthesized in its own fresh App with CDK validation off,
and priced from its templates.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargate_env.assembly import StackSummary, assembly_region, read_assembly
from fargate_env.config import EnvironmentConfig, ScheduleConfig, parse_config
from fargate_env.cost.estimate import Bill, estimate
from fargate_env.synth import synthesize

EGRESS = ("nat-gateway", "nat-instance", "public")
COMPUTE = {
    "x86 on-demand": {"architecture": "x86_64", "spot": False},
    "x86 Spot": {"architecture": "x86_64", "spot": True},
    "arm64 on-demand": {"architecture": "arm64", "spot": False},
}
SCHEDULES = ("always on", "office hours")
# The plan's literal design: one NAT gateway, on-demand x86 tasks, always on.
PLAN = ("nat-gateway", "x86 on-demand", "always on")


@dataclass(frozen=True)
class Variant:
    egress: str
    compute: str
    schedule: str
    lean: bool = False

    @property
    def label(self) -> str:
        text = f"{self.egress}, {self.compute}, {self.schedule}"
        return f"{text}, no dashboard or flow logs" if self.lean else text

    @property
    def is_plan(self) -> bool:
        return (self.egress, self.compute, self.schedule) == PLAN and not self.lean


@dataclass
class Priced:
    variant: Variant
    bill: Bill
    essentials: bool


@dataclass
class Comparison:
    current_total: float
    floor: float
    rows: list[Priced]

    @property
    def cheapest_with_essentials(self) -> Priced | None:
        return next((row for row in self.rows if row.essentials), None)


def variant_config(config: EnvironmentConfig, variant: Variant) -> EnvironmentConfig:
    """The config with one variant's choices for every service, re-validated (so every rule
    still applies)."""
    data: dict[str, Any] = config.model_dump(mode="json")
    compute = COMPUTE[variant.compute]
    for service in data["services"].values():
        service["architecture"] = compute["architecture"]
        service["capacity"]["spot"] = compute["spot"]
        if variant.schedule == "always on":
            service["schedule"] = None
        else:
            service["schedule"] = service["schedule"] or ScheduleConfig().model_dump(mode="json")
    data["network"]["egress"] = variant.egress
    if variant.lean:
        data["monitoring"]["dashboard"] = False
        data["network"]["flow_logs"]["enabled"] = False
    return parse_config(data, f"variant {variant.label}")


def has_essentials(stacks: list[StackSummary]) -> bool:
    """HTTPS listener, target-group health check, autoscaling policy and at least one alarm."""
    resources = [r for s in stacks for r in s.resources.values()]

    def any_of(rtype: str, test: Callable[[dict], bool] = lambda p: True) -> bool:
        return any(r["Type"] == rtype and test(r.get("Properties", {})) for r in resources)

    return (
        any_of("AWS::ElasticLoadBalancingV2::Listener", lambda p: p.get("Protocol") == "HTTPS")
        and any_of(
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            lambda p: p.get("HealthCheckEnabled", True) is not False,
        )
        and any_of("AWS::ApplicationAutoScaling::ScalingPolicy")
        and any_of("AWS::CloudWatch::Alarm")
    )


def price_variant(config: EnvironmentConfig, variant: Variant, workdir: Path) -> Priced:
    cfg = variant_config(config, variant)
    outdir = workdir / variant.label.replace(", ", "_").replace(" ", "-")
    stacks = synthesize(cfg, outdir, validation=False)
    bill = estimate(stacks, assembly_region(outdir), cfg.cost.usage)
    return Priced(variant, bill, has_essentials(stacks))


def compare(
    config: EnvironmentConfig,
    current: Bill,
    *,
    progress: Callable[[str], None] = lambda label: None,
) -> Comparison:
    """Every variant's bill, cheapest first; variants the config rejects are skipped."""
    variants = [
        Variant(egress, compute, schedule)
        for egress in EGRESS
        for compute in COMPUTE
        for schedule in SCHEDULES
    ]
    rows: list[Priced] = []
    with tempfile.TemporaryDirectory(prefix="fargate-env-compare-") as tmp:
        for variant in variants:
            progress(variant.label)
            rows.append(price_variant(config, variant, Path(tmp)))
        rows.sort(key=lambda row: row.bill.total)
        if config.monitoring.dashboard or config.network.flow_logs.enabled:
            best = rows[0].variant
            lean = Variant(best.egress, best.compute, best.schedule, lean=True)
            progress(lean.label)
            rows.append(price_variant(config, lean, Path(tmp)))
            rows.sort(key=lambda row: row.bill.total)
    return Comparison(current_total=current.total, floor=current.floor, rows=rows)


def current_bill(config: EnvironmentConfig) -> Bill:
    """Synthesize `config` into a scratch assembly and price it (CDK validation off: speed)."""
    with tempfile.TemporaryDirectory(prefix="fargate-env-cost-") as tmp:
        outdir = Path(tmp) / "cdk.out"
        synthesize(config, outdir, validation=False)
        return estimate(read_assembly(outdir), assembly_region(outdir), config.cost.usage)
