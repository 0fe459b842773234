"""Read one service's CPU and memory use from CloudWatch and recommend a Fargate size.

Read-only: it prints a recommendation and its monthly cost difference, it never changes a thing.
p95 is taken over the period's `ops.rightsize_period_seconds` averages (CloudWatch's own
percentiles need per-request samples ECS does not publish); max is the largest per-period maximum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fargate_env import outputs
from fargate_env.config import FARGATE_SIZES, OpsConfig, ServiceConfig, select_service
from fargate_env.cost.prices import HOURS_PER_MONTH, PriceTable
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, call
from fargate_env.ops.stats import percentile

# How long CloudWatch keeps datapoints of each period (CloudWatch concepts, metric retention).
RETENTION_DAYS = {60: 15, 300: 63, 3600: 455}


@dataclass(frozen=True)
class Usage:
    metric: str
    datapoints: int
    p95: float  # percent of the current reservation
    max: float


@dataclass(frozen=True)
class Recommendation:
    service: str
    cpu: Usage
    memory: Usage
    current: tuple[int, int]
    recommended: tuple[int, int] | None  # None: too little data to judge
    current_monthly_usd: float
    recommended_monthly_usd: float | None
    tasks: int
    note: str

    @property
    def monthly_delta_usd(self) -> float | None:
        if self.recommended_monthly_usd is None:
            return None
        return self.recommended_monthly_usd - self.current_monthly_usd


def read_usage(
    cloudwatch: Any, cluster: str, service: str, days: int, period_s: int, now: dt.datetime
) -> tuple[Usage, Usage]:
    dims = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service}]
    queries = []
    for metric in ("CPUUtilization", "MemoryUtilization"):
        for stat in ("Average", "Maximum"):
            queries.append(
                {
                    "Id": f"{metric[:3].lower()}{stat[:3].lower()}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/ECS",
                            "MetricName": metric,
                            "Dimensions": dims,
                        },
                        "Period": period_s,
                        "Stat": stat,
                    },
                }
            )
    values: dict[str, list[float]] = {q["Id"]: [] for q in queries}
    token: str | None = None
    while True:
        page = call(
            cloudwatch.get_metric_data,
            what="CloudWatch GetMetricData",
            MetricDataQueries=queries,
            StartTime=now - dt.timedelta(days=days),
            EndTime=now,
            **({"NextToken": token} if token else {}),
        )
        for result in page["MetricDataResults"]:
            values[result["Id"]].extend(result["Values"])
        token = page.get("NextToken")
        if not token:
            break

    def usage(metric: str, key: str) -> Usage:
        average, peak = values[f"{key}ave"], values[f"{key}max"]
        return Usage(metric, len(average), percentile(average, 95), max(peak, default=0.0))

    return usage("CPUUtilization", "cpu"), usage("MemoryUtilization", "mem")


def task_hour_usd(svc: ServiceConfig, prices: PriceTable, cpu: int, memory: int) -> float:
    """One task-hour at this size, with the service's architecture and Spot share."""
    vcpu, gb = cpu / 1024, memory / 1024
    on_demand = prices.fargate_hour(vcpu, gb, svc.architecture)
    share = svc.spot_share
    if not share:
        return on_demand
    spot = prices.fargate_hour(vcpu, gb, svc.architecture, spot=True)
    if spot is None:
        raise UserError(f"Fargate Spot on {svc.architecture} is not in the price table")
    return share * spot + (1 - share) * on_demand


def smallest_fit(
    svc: ServiceConfig, ops: OpsConfig, prices: PriceTable, need_cpu: float, need_mem: float
) -> tuple[int, int]:
    """Cheapest valid Fargate pair whose headroom share still covers the measured p95 need."""
    headroom = ops.rightsize_headroom_percent / 100
    fits = [
        (cpu, mem)
        for cpu, mems in FARGATE_SIZES.items()
        for mem in mems
        if need_cpu <= headroom * cpu and need_mem <= headroom * mem
    ]
    if not fits:
        return max(FARGATE_SIZES), FARGATE_SIZES[max(FARGATE_SIZES)][-1]
    return min(fits, key=lambda size: (task_hour_usd(svc, prices, *size), size))


def recommend(
    service: str, svc: ServiceConfig, ops: OpsConfig, cpu: Usage, memory: Usage, prices: PriceTable
) -> Recommendation:
    current = (svc.cpu, svc.memory)
    tasks = max(svc.scaling.min_tasks, 1)
    monthly = tasks * HOURS_PER_MONTH
    current_usd = task_hour_usd(svc, prices, *current) * monthly
    thin = min(cpu.datapoints, memory.datapoints)
    needed = ops.rightsize_min_datapoints
    if thin < needed:
        return Recommendation(
            service, cpu, memory, current, None, current_usd, None, tasks,
            f"too little data to judge: {thin} of the {needed} datapoints needed"
            " (ops.rightsize_min_datapoints); let the service run longer before resizing",
        )  # fmt: skip
    need_cpu = cpu.p95 / 100 * current[0]
    need_mem = memory.p95 / 100 * current[1]
    best = smallest_fit(svc, ops, prices, need_cpu, need_mem)
    best_usd = task_hour_usd(svc, prices, *best) * monthly
    if best == current:
        note = "keep the current size: it is the cheapest that keeps p95 under the headroom"
    elif best_usd < current_usd:
        note = "downsize: p95 fits a cheaper size with headroom to spare"
    else:
        note = "upsize: p95 is above the headroom share of the current size"
    return Recommendation(service, cpu, memory, current, best, current_usd, best_usd, tasks, note)


def run_rightsize(
    aws: Aws, days: int, service: str | None = None, now: dt.datetime | None = None
) -> Recommendation:
    """`service`: the config's name; None is the only service (several: ConfigError)."""
    name, svc = select_service(aws.config, service)
    period = aws.config.ops.rightsize_period_seconds
    retention = RETENTION_DAYS[period]
    if not 1 <= days <= retention:
        raise UserError(
            f"--days must be 1-{retention}: CloudWatch keeps {period}-second data"
            f" {retention} days (got {days})"
        )
    cluster = aws.stack_outputs(outputs.PLATFORM, outputs.CLUSTER_NAME)[outputs.CLUSTER_NAME]
    ecs_service = aws.service_outputs(name, outputs.SERVICE_NAME)[outputs.SERVICE_NAME]
    prices = PriceTable(aws.config.region)
    cpu, mem = read_usage(
        aws.client("cloudwatch"),
        cluster,
        ecs_service,
        days,
        period,
        now or dt.datetime.now(dt.UTC),
    )
    return recommend(name, svc, aws.config.ops, cpu, mem, prices)
