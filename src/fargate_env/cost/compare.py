"""Profile comparison: synthesize the variants of a config and price each one.

Variants cross edge (internet-facing ALB, or CloudFront in front of an internal ALB) x egress
mode x compute (on-demand and Spot, x86 and arm64; FARGATE_SPOT runs ARM64 on platform 1.4.0+) x
schedule (always on, office hours), each applied to every service, then the cheapest of each
edge once more "lean": without the dashboard and the VPC flow logs, the two optional extras
that are neither HTTPS, health checks, autoscaling nor alarms. Each variant is re-validated
through the config model, synthesized in its own fresh App with CDK validation off, and priced
from its templates; a variant the config model refuses is listed as skipped, with the reason.
The variants are independent: this process and one spawned helper (each with its own jsii
node process) price them side by side, on two cores.

Certificates and alias records cost nothing, so the edge variants drop them: a CloudFront
variant is priced on the distribution's own name, an ALB variant of a config without a
certificate is priced with a placeholder one (HTTPS on the listener, as deployed with a real
certificate).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fargate_env.assembly import (
    ALARM,
    SCALING_POLICY,
    TARGET_GROUP,
    Environment,
    TargetGroup,
    assembly_region,
    read_environment,
)
from fargate_env.config import (
    PLACEHOLDER_ACCOUNT,
    ConfigError,
    EnvironmentConfig,
    ScheduleConfig,
    parse_config,
)
from fargate_env.cost.estimate import Bill, estimate
from fargate_env.synth import assembly_of, synthesize

EDGES = ("alb", "cloudfront")
EGRESS = ("nat-gateway", "nat-instance", "public")
COMPUTE = {
    "x86 on-demand": {"architecture": "x86_64", "spot": False},
    "x86 Spot": {"architecture": "x86_64", "spot": True},
    "arm64 on-demand": {"architecture": "arm64", "spot": False},
    "arm64 Spot": {"architecture": "arm64", "spot": True},
}
SCHEDULES = ("always on", "office hours")
# The plan's literal design: internet-facing ALB, one NAT gateway, on-demand x86, always on.
PLAN = ("alb", "nat-gateway", "x86 on-demand", "always on")


@dataclass(frozen=True)
class Variant:
    egress: str
    compute: str
    schedule: str
    lean: bool = False
    edge: str = "alb"

    @property
    def label(self) -> str:
        text = f"{self.edge}, {self.egress}, {self.compute}, {self.schedule}"
        return f"{text}, no dashboard or flow logs" if self.lean else text

    @property
    def is_plan(self) -> bool:
        return (self.edge, self.egress, self.compute, self.schedule) == PLAN and not self.lean


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
    # Variants the config model refused: label -> the one-line reason.
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def cheapest_with_essentials(self) -> Priced | None:
        return next((row for row in self.rows if row.essentials), None)

    def cheapest_of_edge(self, edge: str) -> Priced | None:
        return next((r for r in self.rows if r.essentials and r.variant.edge == edge), None)

    @property
    def floors(self) -> dict[str, float]:
        """Each edge's floor (the ALB's hours + its public IPv4, or + CloudFront), read from
        that edge's cheapest priced variant (the floor does not depend on the rest)."""
        found: dict[str, float] = {}
        for row in self.rows:
            found.setdefault(row.variant.edge, row.bill.floor)
        return {edge: found[edge] for edge in EDGES if edge in found}


def variant_config(config: EnvironmentConfig, variant: Variant) -> EnvironmentConfig:
    """The config with one variant's choices for every service, re-validated (so every rule
    still applies)."""
    data: dict[str, Any] = config.model_dump(mode="json")
    compute = COMPUTE[variant.compute]
    for service in data["services"].values():
        service["architecture"] = compute["architecture"]
        service["capacity"]["spot"] = compute["spot"]
        if variant.schedule == "always on" or service["kind"] == "job":
            service["schedule"] = None  # a job runs on its own schedule only
        else:
            service["schedule"] = service["schedule"] or ScheduleConfig().model_dump(mode="json")
    data["network"]["egress"] = variant.egress
    lb = data["load_balancer"]
    if variant.edge == "cloudfront":
        lb.update(edge="cloudfront", allow_http_only=False, certificate_arn=None)
        lb.update(domain_name=None, hosted_zone_id=None, hosted_zone_name=None)
        # Previews need the internet-facing ALB: the CloudFront variants price without them.
        lb.update(preview_domain=None, preview_hosted_zone_id=None, preview_hosted_zone_name=None)
    else:
        lb["edge"] = "alb"
        if config.load_balancer.certificate_mode == "cloudfront-default":
            lb["certificate_arn"] = (
                f"arn:aws:acm:{config.region}:{PLACEHOLDER_ACCOUNT}:certificate/"
                "00000000-0000-4000-8000-000000000000"
            )
    if variant.lean:
        data["monitoring"]["dashboard"] = False
        data["network"]["flow_logs"]["enabled"] = False
    return parse_config(data, f"variant {variant.label}")


def config_keys(variant: Variant) -> dict[str, Any]:
    """The config keys behind a variant, as variant_config sets them ("services.*": every
    service); a schedule of "default" is the service's own, else [schedule]'s defaults (a
    job has none: it runs on its own schedule)."""
    compute = COMPUTE[variant.compute]
    keys: dict[str, Any] = {
        "load_balancer.edge": variant.edge,
        "network.egress": variant.egress,
        "services.*.architecture": compute["architecture"],
        "services.*.capacity.spot": compute["spot"],
        "services.*.schedule": None if variant.schedule == "always on" else "default",
    }
    if variant.lean:
        keys.update({"monitoring.dashboard": False, "network.flow_logs.enabled": False})
    return keys


def has_essentials(stacks: Environment) -> bool:
    """HTTPS (on the ALB's listener, or at a CloudFront distribution that never serves plain
    HTTP), target-group health check, autoscaling policy and at least one alarm."""
    return (
        (
            any(x.protocol == "HTTPS" for x in stacks.listeners())
            or any(edge.https_only for edge in stacks.edges())
        )
        and any(TargetGroup(tg).checks for tg in stacks.of_type(TARGET_GROUP).values())
        and bool(stacks.of_type(SCALING_POLICY))
        and bool(stacks.of_type(ALARM))
    )


def price_variant(config: EnvironmentConfig, variant: Variant, workdir: Path) -> Priced:
    return price_config(variant_config(config, variant), variant, workdir)


def price_config(cfg: EnvironmentConfig, variant: Variant, workdir: Path) -> Priced:
    """Synthesize and price `cfg`, a variant's config already validated by variant_config."""
    outdir = workdir / variant.label.replace(", ", "_").replace(" ", "-")
    stacks = synthesize(cfg, outdir, validation=False)
    bill = estimate(stacks, stacks.region or cfg.region, cfg.cost.usage)
    return Priced(variant, bill, has_essentials(stacks))


def idle_cores(read: Callable[[], str] | None = None, interval: float = 0.2) -> float | None:
    """How many cores are idle now: the idle and iowait share of /proc/stat's CPU time over
    `interval`, times the CPUs it lists (Linux; None where it cannot be read). The 1-minute
    load average lags: right after a synth it still says busy on an idle machine."""
    read = read or (lambda: Path("/proc/stat").read_text())

    def sample() -> tuple[int, int, int]:
        lines = read().splitlines()
        ticks = [int(x) for x in lines[0].split()[1:9]]  # user .. steal
        cpus = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
        return sum(ticks), ticks[3] + ticks[4], cpus

    try:
        total, idle, cpus = sample()
        time.sleep(interval)
        total2, idle2, _ = sample()
    except (OSError, ValueError, IndexError):
        return None
    return cpus * (idle2 - idle) / (total2 - total) if total2 > total else None


def processes() -> int:
    """How many processes price variants: two while this one and a helper each find a core
    (1.5 idle cores or more; on a quiet 2-core machine the demo's ~50 variants take 24 s
    instead of 38 s). On a busy machine (a parallel test run, other jobs) the helper's own
    start, ~3 s of CPU for its imports and its jsii process, only adds to the work: measured
    slower at a load of 10 on 2 cores. Without /proc/stat: the load average, at most one
    core busy."""
    cores = len(os.sched_getaffinity(0))
    if cores < 2:
        return 1
    idle = idle_cores()
    if idle is None:
        return 2 if os.getloadavg()[0] <= cores - 1 else 1
    return 2 if idle >= 1.5 else 1


def _price_in_helper(cfg: EnvironmentConfig, variant: Variant, workdir: Path) -> Priced:
    """price_config in the spawned helper (a name of its own: what it runs is its module's)."""
    return price_config(cfg, variant, workdir)


def price_all(
    config: EnvironmentConfig,
    variants: list[Variant],
    workdir: Path,
    progress: Callable[[str], None],
) -> tuple[list[Priced], dict[str, str]]:
    """Price `variants` in this process and, with two cores, in one spawned helper that takes
    variants from the other end of the queue (a fork would share this process's jsii pipes).
    Returns the priced rows in the order of `variants` (so ties sort as they always did) and
    the variants the config model refused (label -> reason)."""
    skipped: dict[str, str] = {}
    pending: deque[tuple[EnvironmentConfig, Variant]] = deque()
    for variant in variants:
        try:
            pending.append((variant_config(config, variant), variant))
        except ConfigError as exc:
            skipped[variant.label] = str(exc).split(": ", 1)[-1]
    rows: list[Priced] = []
    if len(pending) < 4 or processes() < 2:
        for cfg, variant in pending:
            progress(variant.label)
            rows.append(price_config(cfg, variant, workdir))
        return rows, skipped
    spawn = multiprocessing.get_context("spawn")
    helper: list[Future[Priced]] = []
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:

        def feed() -> None:  # two queued in the helper: it never waits for this process
            while pending and sum(not f.done() for f in helper) < 2:
                cfg, variant = pending.pop()
                progress(variant.label)
                helper.append(pool.submit(_price_in_helper, cfg, variant, workdir))

        feed()
        while pending:
            cfg, variant = pending.popleft()
            progress(variant.label)
            rows.append(price_config(cfg, variant, workdir))
            feed()
        rows.extend(future.result() for future in helper)
    rows.sort(key=lambda row: variants.index(row.variant))
    return rows, skipped


def compare(
    config: EnvironmentConfig,
    current: Bill,
    *,
    progress: Callable[[str], None] = lambda label: None,
) -> Comparison:
    """Every variant's bill, cheapest first; variants the config rejects are skipped."""
    variants = [
        Variant(egress, compute, schedule, edge=edge)
        for edge in EDGES
        for egress in EGRESS
        for compute in COMPUTE
        for schedule in SCHEDULES
    ]
    with tempfile.TemporaryDirectory(prefix="fargate-env-compare-") as tmp:
        rows, skipped = price_all(config, variants, Path(tmp), progress)
        rows.sort(key=lambda row: row.bill.total)
        if config.monitoring.dashboard or config.network.flow_logs.enabled:
            best = {edge: next((r.variant for r in rows if r.variant.edge == edge), None)
                    for edge in EDGES}  # fmt: skip
            lean = [replace(v, lean=True) for v in best.values() if v is not None]
            more, lean_skipped = price_all(config, lean, Path(tmp), progress)
            rows.extend(more)
            skipped.update(lean_skipped)
            rows.sort(key=lambda row: row.bill.total)
    return Comparison(current_total=current.total, floor=current.floor, rows=rows, skipped=skipped)


def current_bill(config: EnvironmentConfig, say: Callable[[str], None] = lambda line: None) -> Bill:
    """Price ./cdk.out while it is fresh for `config`, else a new synthesis of it (CDK
    validation off: speed); `say` hears which."""
    with assembly_of(config, say) as outdir:
        return estimate(read_environment(outdir), assembly_region(outdir), config.cost.usage)
