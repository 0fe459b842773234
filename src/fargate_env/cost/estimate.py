"""Price the synthesized templates: one bill line per billable resource for a 730-hour month.

Reads CloudFormation resource types and properties, never the config: what is priced is what
would be deployed. Usage the templates cannot tell (log GB, NAT traffic, LCUs) comes from
`cost.usage` and is printed with the bill. Every resource type is either priced, listed as
free with a reason, or listed as "not priced" — nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from fargate_env.assembly import (
    ALARM,
    CLUSTER,
    DISTRIBUTION,
    ECS_SERVICE,
    FLOW_LOG,
    INSTANCE,
    LOAD_BALANCER,
    LOG_GROUP,
    NAT_GATEWAY,
    REPOSITORY,
    SCALING_POLICY,
    SCHEDULE,
    STATE_MACHINE,
    Environment,
    Job,
    LoadBalancer,
    Resource,
    Service,
    Stack,
)
from fargate_env.config import UsageAssumptions
from fargate_env.config.service import ServiceKind
from fargate_env.cost.prices import (
    AMI_DEFAULT_ROOT_VOLUME_GB,
    CLOUDFRONT_FREE_REQUESTS,
    CLOUDFRONT_FREE_TRANSFER_GB,
    CONTAINER_INSIGHTS_METRICS,
    HOURS_PER_MONTH,
    PriceTable,
)
from fargate_env.cost.schedule import (
    MINUTES_PER_WEEK,
    ScheduleNotUnderstood,
    Segment,
    runs_per_month,
    weekly_segments,
)
from fargate_env.speed import duration, service_speed

H = HOURS_PER_MONTH
DAYS_PER_MONTH = 365 / 12

# Types that cost nothing by themselves, with the reason (or where their cost is counted).
FREE: dict[str, str] = {
    "AWS::EC2::VPC": "no charge",
    "AWS::EC2::Subnet": "no charge",
    "AWS::EC2::RouteTable": "no charge",
    "AWS::EC2::SubnetRouteTableAssociation": "no charge",
    "AWS::EC2::Route": "no charge",
    "AWS::EC2::InternetGateway": "no charge (data transfer out is usage, same in every profile)",
    "AWS::EC2::VPCGatewayAttachment": "no charge",
    "AWS::EC2::SecurityGroup": "no charge",
    "AWS::EC2::SecurityGroupIngress": "no charge",
    "AWS::EC2::SecurityGroupEgress": "no charge",
    "AWS::IAM::Role": "no charge",
    "AWS::IAM::Policy": "no charge",
    "AWS::IAM::ManagedPolicy": "no charge",
    "AWS::IAM::InstanceProfile": "no charge",
    "AWS::Lambda::Function": "custom-resource handler: runs only during deploys (free tier)",
    "AWS::Lambda::Permission": "no charge",
    "AWS::CDK::Metadata": "no charge",
    "AWS::ElasticLoadBalancingV2::Listener": "included in the load balancer's hours",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "included in the LCU assumption",
    "AWS::ElasticLoadBalancingV2::ListenerCertificate": "no charge",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "included in the load balancer's hours",
    "AWS::CertificateManager::Certificate": "public ACM certificates are free",
    "AWS::Route53::RecordSet": "alias records to an ALB or CloudFront: queries free; zone not"
    " in the stack",
    "AWS::CloudFront::VpcOrigin": "VPC origins cost nothing extra (CloudFront pricing)",
    "AWS::ECS::TaskDefinition": "priced through the service that runs it",
    "AWS::ECS::ClusterCapacityProviderAssociations": "no charge",
    "AWS::ApplicationAutoScaling::ScalableTarget": "no charge (its schedule prices the tasks)",
    "AWS::SNS::Topic": "first 1M publishes and 1,000 e-mails a month are free",
    "AWS::SNS::Subscription": "no charge",
    "AWS::SNS::TopicPolicy": "no charge",
    "AWS::S3::BucketPolicy": "no charge",
    "AWS::KMS::Alias": "no charge",
    "AWS::Budgets::Budget": "cost budgets without actions are free",
    "AWS::Logs::ResourcePolicy": "no charge",
    "AWS::Events::Rule": "rules on AWS service events (default bus) are free",
    "AWS::Scheduler::ScheduleGroup": "no charge",
    "AWS::ServiceDiscovery::HttpNamespace": "Service Connect's namespace: no charge",
}
# A schedule that starts no job (a preview's expiry) costs its invocations only.
SCHEDULE_FREE = "a preview's one invocation (14M a month are free)"
# The bill line of a task's Service Connect proxy share (split off the task's own line).
PROXY_ITEM = "service-connect-proxy"
# Where the bill lists the kinds of service, and in which order: the config's.
KINDS: tuple[str, ...] = get_args(ServiceKind)


@dataclass
class BillLine:
    stack: str
    resource: str
    type: str
    monthly_usd: float
    basis: str
    # Stable category, e.g. "alb-hours": lets the comparison find the floor without string parsing.
    item: str = ""
    # The service this line is part of (its stack, or its repository), None for shared lines.
    service: str | None = None
    # The basis in a few words, for an 80-column table.
    short: str = ""


@dataclass
class Unpriced:
    stack: str
    resource: str
    type: str
    reason: str


def cents_sum(figures: Iterable[float]) -> float:
    """Each figure rounded to the cent, then summed: totals equal the sum of printed lines."""
    return round(sum(round(x, 2) for x in figures), 2)


@dataclass
class Bill:
    region: str
    lines: list[BillLine] = field(default_factory=list)
    free: list[Unpriced] = field(default_factory=list)
    not_priced: list[Unpriced] = field(default_factory=list)
    assumptions: dict[str, Any] = field(default_factory=dict)
    # Each service's kind (web, backend, worker, job), as its stack says.
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """The sum of the lines as printed (each to the cent): the figures on screen add up."""
        return cents_sum(line.monthly_usd for line in self.lines)

    @property
    def floor(self) -> float:
        """The unavoidable part: the load balancer's hours and either its public IPv4
        addresses (edge "alb") or the CloudFront distribution in front of it."""
        return cents_sum(line.monthly_usd for line in self.lines if line.item in FLOOR_ITEMS)

    @property
    def exact_total(self) -> float:
        """The unrounded total, for differences between two bills."""
        return sum(line.monthly_usd for line in self.lines)

    def service_subtotals(self) -> dict[str, float]:
        """Each service's lines (its stack plus its repository), in deployment order."""
        totals: dict[str, float] = {}
        for line in self.lines:
            if line.service is not None:
                totals[line.service] = totals.get(line.service, 0.0) + round(line.monthly_usd, 2)
        return {name: round(usd, 2) for name, usd in totals.items()}

    def kind_subtotals(self) -> dict[str, dict[str, float]]:
        """The service subtotals grouped by kind, kinds in KINDS order (each kind present)."""
        grouped: dict[str, dict[str, float]] = {}
        for name, usd in self.service_subtotals().items():
            grouped.setdefault(self.kinds.get(name, "web"), {})[name] = usd
        return {kind: grouped[kind] for kind in KINDS if kind in grouped}

    @property
    def shared(self) -> float:
        """What the services share: every line that belongs to no one service."""
        return cents_sum(line.monthly_usd for line in self.lines if line.service is None)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "total_monthly_usd": self.total,
            "floor_monthly_usd": self.floor,
            "shared_monthly_usd": self.shared,
            "services": [
                {"name": name, "kind": self.kinds.get(name, "web"), "monthly_usd": usd}
                for name, usd in self.service_subtotals().items()
            ],
            "kinds": {
                kind: {"services": len(group), "monthly_usd": cents_sum(group.values())}
                for kind, group in self.kind_subtotals().items()
            },
            "lines": [
                {
                    "stack": line.stack,
                    "resource": line.resource,
                    "type": line.type,
                    "monthly_usd": round(line.monthly_usd, 2),
                    "basis": line.basis,
                    "service": line.service,
                }
                for line in self.lines
            ],
            "not_priced": [vars(u) for u in self.not_priced],
            "free_resources": len(self.free),
            "assumptions": self.assumptions,
        }


FLOOR_ITEMS = {"alb-hours", "alb-public-ipv4", "cloudfront"}


@dataclass
class _Ctx:
    """One stack, the whole environment, prices and usage, handed to each handler."""

    own: Stack
    env: Environment
    prices: PriceTable
    usage: UsageAssumptions
    bill: Bill

    @property
    def stack(self) -> str:
        return self.own.name

    @property
    def service(self) -> str | None:
        """The service whose stack this is (None for a shared stack)."""
        return self.own.service

    @property
    def is_preview(self) -> bool:
        """A preview's own stack: its log assumption is a preview's."""
        return self.own.is_preview

    def line(
        self,
        rid: str,
        rtype: str,
        usd: float,
        basis: str,
        item: str,
        short: str = "",
        service: str | None = None,
    ) -> None:
        owner = service if service is not None else self.service
        self.bill.lines.append(
            BillLine(self.stack, rid, rtype, usd, basis, item, owner, short or basis)
        )

    def not_priced(self, rid: str, rtype: str, reason: str) -> None:
        self.bill.not_priced.append(Unpriced(self.stack, rid, rtype, reason))

    def free(self, res: Resource, reason: str) -> None:
        self.bill.free.append(Unpriced(self.stack, res.logical_id, res.type, reason))


def _money(x: float) -> str:
    return f"${x:,.4f}".rstrip("0").rstrip(".") if x < 0.1 else f"${x:,.3f}".rstrip("0").rstrip(".")


# --- handlers: one per billable type -------------------------------------------------------


def _load_balancer(ctx: _Ctx, res: Resource) -> None:
    lb, rid, rtype = LoadBalancer(res), res.logical_id, res.type
    if lb.kind != "application":
        ctx.not_priced(rid, rtype, f"load balancer type {lb.kind!r} is not in the table")
        return
    p = ctx.prices
    hours = f"{H:.0f} h x {_money(p.usd('alb_hour'))}/h"
    ctx.line(rid, rtype, p.usd("alb_hour") * H, hours, "alb-hours", hours)
    lcu = ctx.usage.alb_lcu
    ctx.line(
        rid,
        rtype,
        lcu * p.usd("alb_lcu_hour") * H,
        f"{lcu} LCU (assumed) x {H:.0f} h x {_money(p.usd('alb_lcu_hour'))}/LCU-h",
        "alb-lcu",
        f"{lcu:g} LCU (assumed) x {H:.0f} h",
    )
    if lb.scheme == "internet-facing":
        count = lb.subnet_count or 2
        ctx.line(
            rid + " public IPv4",
            rtype,
            count * p.usd("public_ipv4_hour") * H,
            f"{count} public IPv4 (one per AZ) x {H:.0f} h x {_money(p.usd('public_ipv4_hour'))}/h",
            "alb-public-ipv4",
            f"{count} public IPv4 x {H:.0f} h",
        )


def _nat_gateway(ctx: _Ctx, res: Resource) -> None:
    p = ctx.prices
    share = ctx.usage.nat_processed_gb_month / max(ctx.env.count(res.type), 1)
    usd = p.usd("nat_gateway_hour") * H + share * p.usd("nat_gateway_gb")
    basis = (
        f"{H:.0f} h x {_money(p.usd('nat_gateway_hour'))}/h + {share:g} GB processed (assumed)"
        f" x {_money(p.usd('nat_gateway_gb'))}/GB"
    )
    ctx.line(
        res.logical_id, res.type, usd, basis, "nat-gateway", f"{H:.0f} h + {share:g} GB (assumed)"
    )


def _eip(ctx: _Ctx, res: Resource) -> None:
    p = ctx.prices.usd("public_ipv4_hour")
    basis = f"public IPv4 x {H:.0f} h x {_money(p)}/h"
    ctx.line(res.logical_id, res.type, p * H, basis, "eip", f"public IPv4 x {H:.0f} h")


def _instance(ctx: _Ctx, res: Resource) -> None:
    rid, rtype, p = res.logical_id, res.type, ctx.prices
    itype = res.get("InstanceType", "m1.small")
    key = f"ec2_{itype}_hour"
    if not isinstance(itype, str) or not p.has(key):
        ctx.not_priced(rid, rtype, f"instance type {itype!r} is not in the price table")
    else:
        ctx.line(
            rid,
            rtype,
            p.usd(key) * H,
            f"{itype} x {H:.0f} h x {_money(p.usd(key))}/h",
            "ec2-instance",
            f"{itype} x {H:.0f} h",
        )
    volumes = [m["Ebs"] for m in res.get("BlockDeviceMappings", ()) if "Ebs" in m]
    sizes = [float(v.get("VolumeSize", AMI_DEFAULT_ROOT_VOLUME_GB)) for v in volumes]
    basis = "BlockDeviceMappings"
    if not sizes:
        sizes, basis = [AMI_DEFAULT_ROOT_VOLUME_GB], "AMI default root volume (assumed)"
    gb = sum(sizes)
    gp3 = p.usd("ebs_gp3_gb_month")
    ctx.line(
        rid + " EBS",
        rtype,
        gb * gp3,
        f"{gb:g} GB gp3 ({basis}) x {_money(gp3)}/GB-month",
        "ebs",
        f"{gb:g} GB gp3",
    )
    if any(
        n.get("AssociatePublicIpAddress") in (True, "true")
        for n in res.get("NetworkInterfaces", ())
    ):
        ip = p.usd("public_ipv4_hour")
        ctx.line(
            rid + " public IPv4",
            rtype,
            ip * H,
            f"public IPv4 x {H:.0f} h x {_money(ip)}/h",
            "ec2-public-ipv4",
            f"public IPv4 x {H:.0f} h",
        )


def _service(ctx: _Ctx, res: Resource) -> None:
    """Fargate tasks: size x count over the week x on-demand/Spot mix; public IPs if assigned."""
    rid, rtype, p = res.logical_id, res.type, ctx.prices
    service = _service_view(ctx, res)
    td = service.task_definition
    try:
        assert td is not None
        vcpu, gb = td.cpu_units / 1024, td.memory_mib / 1024
    except (AssertionError, KeyError, TypeError, ValueError):
        ctx.not_priced(rid, rtype, "task definition Cpu/Memory not found in the same stack")
        return
    arch = td.architecture

    segments, schedule_note = _week(service)
    od_base, od_weight, spot_weight = _strategy(service)

    od_task_hours = spot_task_hours = 0.0
    for seg in segments:
        hours = seg.minutes / MINUTES_PER_WEEK * H
        on_demand = min(od_base, seg.tasks)
        rest = seg.tasks - on_demand
        weights = od_weight + spot_weight
        spot = rest * spot_weight / weights if weights else 0.0
        od_task_hours += (on_demand + rest - spot) * hours
        spot_task_hours += spot * hours
    task_hours = od_task_hours + spot_task_hours

    od_rate = p.fargate_hour(vcpu, gb, arch)
    spot_rate = p.fargate_hour(vcpu, gb, arch, spot=True)
    if spot_task_hours and spot_rate is None:
        ctx.not_priced(rid, rtype, f"Fargate Spot on {arch} is not in the price table")
        return
    usd = od_task_hours * od_rate + spot_task_hours * (spot_rate or 0.0)
    spot_pct = 100 * spot_task_hours / task_hours if task_hours else 0.0
    basis = (
        f"{vcpu:g} vCPU / {gb:g} GB {arch}; {task_hours:.0f} task-h/month ({schedule_note});"
        f" {spot_pct:.0f} % Spot"
    )
    short = f"{vcpu:g} vCPU/{gb:g} GB, {task_hours:.0f} task-h, {spot_pct:.0f}% Spot"
    proxy = _proxy_usd(service, vcpu, gb, p, arch, od_task_hours, spot_task_hours)
    ctx.line(rid, rtype, usd - proxy, basis, "fargate", short)
    if proxy:
        _proxy_line(ctx, service, proxy, vcpu, gb)
    blended = usd / task_hours if task_hours else od_rate
    _deploys(ctx, service, max((seg.tasks for seg in segments), default=0), blended)

    if service.assigns_public_ip:
        ip = p.usd("public_ipv4_hour")
        ctx.line(
            rid + " task public IPv4",
            rtype,
            task_hours * ip,
            f"one public IPv4 per task x {task_hours:.0f} task-h x {_money(ip)}/h",
            "task-public-ipv4",
            f"public IPv4 x {task_hours:.0f} task-h",
        )


def _proxy_usd(
    service: Service, vcpu: float, gb: float, p: PriceTable, arch: str, od_h: float, spot_h: float
) -> float:
    """The Service Connect proxy's share of the task's price: AWS's recommended reservation
    for it (assembly), capped at the task's size, at the task's own on-demand/Spot hours."""
    if not service.proxy_cpu_units:
        return 0.0
    proxy_vcpu = min(service.proxy_cpu_units / 1024, vcpu)
    proxy_gb = min(service.proxy_memory_mib / 1024, gb)
    spot_rate = p.fargate_hour(proxy_vcpu, proxy_gb, arch, spot=True) or 0.0
    return od_h * p.fargate_hour(proxy_vcpu, proxy_gb, arch) + spot_h * spot_rate


def _proxy_line(ctx: _Ctx, service: Service, usd: float, vcpu: float, gb: float) -> None:
    """Split off the task's line, not added to it: the proxy runs inside the task's size."""
    cpu, mib = service.proxy_cpu_units, service.proxy_memory_mib
    role = "a backend's server" if service.kind == "backend" else "a client of the backends"
    ctx.line(
        service.logical_id + " Service Connect proxy",
        service.resource.type,
        usd,
        f"Service Connect proxy ({role}): AWS's recommended {cpu} CPU units / {mib} MiB of"
        f" each {vcpu:g} vCPU / {gb:g} GB task, its share of the task's price (inside the"
        " task's size, not on top of it)",
        PROXY_ITEM,
        f"{cpu} CPU/{mib} MiB of each task",
    )


def _schedule(ctx: _Ctx, res: Resource) -> None:
    """A job's schedule starts its runs: runs x usage.job_run_minutes at the task's size."""
    job = ctx.env.job(ctx.own)
    if job is None or job.schedule.logical_id != res.logical_id:
        ctx.free(res, SCHEDULE_FREE)
        return
    rid, rtype, p = res.logical_id, res.type, ctx.prices
    td = job.task_definition
    if td is None or not job.cpu_units or not job.memory_mib:
        ctx.not_priced(rid, rtype, "the job's task definition Cpu/Memory not found")
        return
    try:
        runs, task_hours = _job_hours(ctx, job)
    except ScheduleNotUnderstood as exc:
        ctx.not_priced(rid, rtype, f"runs per month unknown: {exc}")
        return
    vcpu, gb, arch = job.cpu_units / 1024, job.memory_mib / 1024, td.architecture
    spot = _spot_share(*_weights(job.capacity_strategy), tasks=1)
    spot_rate = p.fargate_hour(vcpu, gb, arch, spot=True)
    if spot and spot_rate is None:
        ctx.not_priced(rid, rtype, f"Fargate Spot on {arch} is not in the price table")
        return
    rate = (1 - spot) * p.fargate_hour(vcpu, gb, arch) + spot * (spot_rate or 0.0)
    minutes = ctx.usage.job_run_minutes
    basis = (
        f"{runs:.3g} runs/month ({job.expression} {job.timezone}) x {minutes:g} min a run"
        f" (assumed, cost.usage.job_run_minutes) = {task_hours:.2f} task-h x {_money(rate)}/h;"
        f" {vcpu:g} vCPU / {gb:g} GB {arch}; {spot:.0%} Spot"
    )
    short = f"{runs:.3g} runs x {minutes:g} min (assumed), {spot:.0%} Spot"
    ctx.line(rid, rtype, task_hours * rate, basis, "fargate-job", short)


def _state_machine(ctx: _Ctx, res: Resource) -> None:
    """A job's state machine: the transitions of a successful run, every run of the month."""
    job = ctx.env.job(ctx.own)
    if job is None or job.state_machine is None or job.state_machine.logical_id != res.logical_id:
        ctx.not_priced(res.logical_id, res.type, "a state machine that runs no job")
        return
    try:
        runs = runs_per_month(job.expression)
    except ScheduleNotUnderstood as exc:
        ctx.not_priced(res.logical_id, res.type, f"runs per month unknown: {exc}")
        return
    per = ctx.prices.usd("sfn_state_transition")
    transitions = runs * job.transitions_per_run
    ctx.line(
        res.logical_id,
        res.type,
        transitions * per,
        f"{runs:.3g} runs x {job.transitions_per_run} state transitions a run (a successful"
        f" one; retries add one each) x {_money(per)}/transition (4,000 a month free, not"
        " assumed left)",
        "step-functions",
        f"{transitions:,.0f} state transitions",
    )


def _job_hours(ctx: _Ctx, job: Job) -> tuple[float, float]:
    """(runs a month, task-hours a month): each run is one task for usage.job_run_minutes."""
    runs = runs_per_month(job.expression)
    return runs, runs * ctx.usage.job_run_minutes / 60


def _service_view(ctx: _Ctx, res: Resource) -> Service:
    return next(s for s in ctx.env.services(ctx.own) if s.logical_id == res.logical_id)


def _deploys(ctx: _Ctx, service: Service, tasks: int, rate: float) -> None:
    """The second revision a deployment runs: `tasks` more tasks for the deploy time read from
    the template (speed.py: register + drain, plus every bake), cost.usage.deploys_per_month
    times a month, at the service's own on-demand/Spot rate. Deploying at zero tasks starts
    none, so the peak of the week's task count is what a deployment doubles."""
    speed = service_speed(service)
    deploys = ctx.usage.deploys_per_month
    if speed is None or not deploys:
        return
    hours = deploys * tasks * speed.deploy_seconds / 3600
    took = duration(speed.deploy_seconds)
    ctx.line(
        service.logical_id + " deploys",
        service.resource.type,
        hours * rate,
        f"{deploys} {speed.strategy} deploys/month (assumed) x {tasks} extra task(s) x {took}"
        f" (second revision until the old one drains) = {hours:.2f} task-h x {_money(rate)}/h",
        "fargate-deploys",
        f"{deploys} {speed.strategy} deploys: {hours:.2f} task-h",
    )


def _strategy(service: Service) -> tuple[int, float, float]:
    """(on-demand base, FARGATE weight, FARGATE_SPOT weight) of the service or its cluster."""
    return _weights(service.capacity_strategy)


def _weights(strategy: Iterable[Any]) -> tuple[int, float, float]:
    """(on-demand base, FARGATE weight, FARGATE_SPOT weight) of a capacity provider strategy;
    none at all is on demand."""
    base, od, spot = 0, 0.0, 0.0
    for item in strategy:
        weight = float(item.get("Weight", 0))
        if item.get("CapacityProvider") == "FARGATE_SPOT":
            spot += weight
        else:
            od += weight
            base += int(item.get("Base", 0))
    if od + spot == 0:
        od = 1.0
    return base, od, spot


def _spot_share(base: int, od: float, spot: float, *, tasks: int) -> float:
    """The share of `tasks` that lands on Spot: the base first on demand, the rest by weight."""
    rest = max(tasks - base, 0)
    return rest * spot / (od + spot) / tasks if tasks else 0.0


def _cluster(ctx: _Ctx, res: Resource) -> None:
    settings = {s.get("Name"): s.get("Value") for s in res.get("ClusterSettings", ())}
    mode = settings.get("containerInsights", "disabled")
    if mode in ("enabled", "enhanced"):
        m = ctx.prices.usd("custom_metric_month")
        ctx.line(
            res.logical_id,
            res.type,
            CONTAINER_INSIGHTS_METRICS * m,
            f"Container Insights ({mode}): ~{CONTAINER_INSIGHTS_METRICS} metrics (assumed)"
            f" x {_money(m)}/metric-month",
            "container-insights",
            f"Container Insights: ~{CONTAINER_INSIGHTS_METRICS} metrics",
        )
    else:
        ctx.free(res, "no charge without insights")


def _flow_log_groups(ctx: _Ctx) -> set[str]:
    return {
        rid
        for fl in ctx.own.of_type(FLOW_LOG).values()
        for rid in ctx.own.of_type(LOG_GROUP)
        if fl.mentions(rid, "LogGroupName", "LogDestination")
    }


def _log_group(ctx: _Ctx, res: Resource) -> None:
    """Ingestion is billed where the logs come from; this line is the storage."""
    rid, p = res.logical_id, ctx.prices
    flow = rid in _flow_log_groups(ctx)
    # usage.log_ingest_gb_month is per application log group (one per service) running all
    # month; a service's tasks only log while they run, so a schedule scales it down.
    share, share_note = (1.0, "") if flow else _running_share(ctx, rid)
    if flow:
        ingest = ctx.usage.flow_log_ingest_gb_month
    elif ctx.is_preview:
        ingest = ctx.usage.preview_log_ingest_gb_month * share
    else:
        ingest = ctx.usage.log_ingest_gb_month * share
    days = res.get("RetentionInDays")
    if days:
        stored = ingest * int(days) / DAYS_PER_MONTH
        stored_basis = f"{stored:.2f} GB kept ({days}-day retention)"
    else:
        stored = ctx.usage.log_stored_gb
        stored_basis = f"{stored:g} GB kept (never expires; assumed)"
    kept = f"{stored:.2f} GB kept"
    store_usd = stored * p.usd("logs_stored_gb_month")
    if flow:
        ctx.line(
            rid,
            res.type,
            store_usd,
            f"flow logs: {stored_basis} x {_money(p.usd('logs_stored_gb_month'))}/GB-month",
            "log-storage",
            f"flow logs: {kept}",
        )
        return
    ingest_usd = ingest * p.usd("logs_ingest_gb")
    ctx.line(
        rid,
        res.type,
        ingest_usd + store_usd,
        f"{ingest:.3g} GB/month ingested (assumed{share_note}) x"
        f" {_money(p.usd('logs_ingest_gb'))}/GB"
        f" + {stored_basis} x {_money(p.usd('logs_stored_gb_month'))}/GB-month",
        "logs",
        f"{ingest:.3g} GB in (assumed{share_note}), {kept}",
    )


def _week(service: Service) -> tuple[list[Segment], str]:
    """The minimum task count through the week of one ECS service, and a note for the basis;
    a schedule the weekly model cannot read is priced always up at its highest minimum."""
    scaling = service.scaling
    base, actions = scaling.minimum, scaling.schedule
    if scaling.target is None:
        note = "desired count, no autoscaling"
    elif actions:
        note = "min tasks through the week's schedule"
    else:
        note = "autoscaling minimum"
    try:
        return weekly_segments(base, actions), note
    except ScheduleNotUnderstood as exc:
        always = weekly_segments(max([base] + [a for _, a in actions if a]), [])
        return always, f"schedule not understood ({exc}); priced always up"


def _running_share(ctx: _Ctx, log_group: str) -> tuple[float, str]:
    """Share of the week the ECS service writing to `log_group` has at least one task, from
    its scalable target's schedule; 1.0 when no service in the stack logs there or it never
    has a minimum task (it may still scale up on demand: priced as always running)."""
    for service in ctx.env.services(ctx.own):
        if service.task_definition is None or not service.task_definition.logs_to(log_group):
            continue
        segments, _ = _week(service)
        running = sum(seg.minutes for seg in segments if seg.tasks > 0) / MINUTES_PER_WEEK
        if 0 < running < 1:
            return running, f", {running:.0%} of the week running"
    job = ctx.env.job(ctx.own)
    if job is not None and job.task_definition and job.task_definition.logs_to(log_group):
        try:
            _, task_hours = _job_hours(ctx, job)
        except ScheduleNotUnderstood:
            return 1.0, ""
        running = min(task_hours / H, 1.0)
        return running, f", runs {running:.1%} of the month"
    return 1.0, ""


def _flow_log(ctx: _Ctx, res: Resource) -> None:
    gb = ctx.usage.flow_log_ingest_gb_month
    per_gb = ctx.prices.usd("logs_ingest_gb")
    ctx.line(
        res.logical_id,
        res.type,
        gb * per_gb,
        f"{gb:g} GB/month delivered (assumed) x {_money(per_gb)}/GB (vended-log ingestion)",
        "flow-logs",
        f"{gb:g} GB delivered (assumed)",
    )


def _alarm(ctx: _Ctx, res: Resource) -> None:
    metrics = res.get("Metrics")
    count = sum(1 for m in metrics if "MetricStat" in m) if metrics is not None else 1
    per = ctx.prices.usd("alarm_metric_month")
    ctx.line(
        res.logical_id,
        res.type,
        max(count, 1) * per,
        f"{max(count, 1)} standard-resolution metric(s) x {_money(per)}/month",
        "alarm",
        f"{max(count, 1)} alarm metric{'s' if count > 1 else ''}",
    )


# Target tracking keeps two CloudWatch alarms per policy (scale out, scale in); they are
# ordinary alarms in the account and billed as such.
TARGET_TRACKING_ALARMS = 2


def _scaling_policy(ctx: _Ctx, res: Resource) -> None:
    if res.get("PolicyType") != "TargetTrackingScaling":
        # Step scaling is driven by alarms defined (and priced) elsewhere in the templates.
        ctx.free(res, "its alarms are priced")
        return
    per = ctx.prices.usd("alarm_metric_month")
    ctx.line(
        res.logical_id,
        res.type,
        TARGET_TRACKING_ALARMS * per,
        f"{TARGET_TRACKING_ALARMS} alarms target tracking keeps (high, low) x {_money(per)}/month",
        "scaling-alarm",
        f"target tracking: {TARGET_TRACKING_ALARMS} alarms",
    )


def _dashboard(ctx: _Ctx, res: Resource) -> None:
    per = ctx.prices.usd("dashboard_month")
    ctx.line(
        res.logical_id,
        res.type,
        per,
        f"{_money(per)}/month (free tier of 3 assumed used)",
        "dashboard",
        "dashboard (no free tier)",
    )


def _kms_key(ctx: _Ctx, res: Resource) -> None:
    per = ctx.prices.usd("kms_key_month")
    ctx.line(
        res.logical_id,
        res.type,
        per,
        f"customer-managed key {_money(per)}/month (requests ~0)",
        "kms",
        "customer-managed key",
    )


def _repository(ctx: _Ctx, res: Resource) -> None:
    """usage.ecr_storage_gb is per repository; a repository belongs to the service that pulls
    from it (the one service stack whose template references it)."""
    gb = ctx.usage.ecr_storage_gb
    per = ctx.prices.usd("ecr_gb_month")
    users = {s.service for s in ctx.env.service_stacks() if s.names(res.logical_id)}
    ctx.line(
        res.logical_id,
        res.type,
        gb * per,
        f"{gb:g} GB images (assumed) x {_money(per)}/GB-month",
        "ecr",
        f"{gb:g} GB images (assumed)",
        service=users.pop() if len(users) == 1 else None,
    )


def _bucket(ctx: _Ctx, res: Resource) -> None:
    access_logs = any(
        LoadBalancer(lb).logs_to(res.logical_id) for lb in ctx.own.of_type(LOAD_BALANCER).values()
    )
    gb = ctx.usage.access_log_storage_gb if access_logs else 0.0
    per = ctx.prices.usd("s3_gb_month")
    what = "ALB access logs" if access_logs else "no stored data assumed"
    basis = f"{what}: {gb:g} GB x {_money(per)}/GB-month"
    ctx.line(res.logical_id, res.type, gb * per, basis, "s3", f"{what}: {gb:g} GB")


def _distribution(ctx: _Ctx, res: Resource) -> None:
    """Requests and data out from `cost.usage`, less CloudFront's always-free allowance
    (when `cloudfront_free_allowance`); origin fetches from the ALB are free."""
    u, p = ctx.usage, ctx.prices
    share = max(ctx.env.count(res.type), 1)
    gb, requests = u.cloudfront_transfer_gb_month / share, u.cloudfront_requests_month / share
    free = u.cloudfront_free_allowance
    free_gb = CLOUDFRONT_FREE_TRANSFER_GB / share if free else 0.0
    free_requests = CLOUDFRONT_FREE_REQUESTS / share if free else 0.0
    billed_gb, billed_requests = max(gb - free_gb, 0.0), max(requests - free_requests, 0.0)
    per_gb, per_request = p.usd("cloudfront_transfer_gb"), p.usd("cloudfront_request")
    usd = billed_gb * per_gb + billed_requests * per_request
    allowance = (
        f"always-free {free_gb:,.0f} GB + {free_requests:,.0f} requests applied"
        if free
        else "no free allowance (cost.usage.cloudfront_free_allowance = false)"
    )
    basis = (
        f"{gb:g} GB out + {requests:,.0f} requests/month (assumed); {allowance}; billed"
        f" {billed_gb:g} GB x {_money(per_gb)}/GB + {billed_requests:,.0f} x $0.01/10,000"
    )
    short = f"{gb:g} GB, {requests / 1e6:g}M req (assumed)" + (
        ", free tier" if free and not usd else (", past free tier" if free else "")
    )
    ctx.line(res.logical_id, res.type, usd, basis, "cloudfront", short)


HANDLERS: dict[str, Callable[[_Ctx, Resource], None]] = {
    DISTRIBUTION: _distribution,
    LOAD_BALANCER: _load_balancer,
    NAT_GATEWAY: _nat_gateway,
    "AWS::EC2::EIP": _eip,
    INSTANCE: _instance,
    ECS_SERVICE: _service,
    CLUSTER: _cluster,
    LOG_GROUP: _log_group,
    FLOW_LOG: _flow_log,
    ALARM: _alarm,
    SCALING_POLICY: _scaling_policy,
    SCHEDULE: _schedule,
    STATE_MACHINE: _state_machine,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::KMS::Key": _kms_key,
    REPOSITORY: _repository,
    "AWS::S3::Bucket": _bucket,
}


def estimate(stacks: Environment, region: str, usage: UsageAssumptions) -> Bill:
    """The monthly bill of every resource in `stacks`, priced for `region`."""
    prices = PriceTable(region)
    bill = Bill(
        region=region,
        assumptions={
            "hours_per_month": H,
            "free_tier": "none assumed (the account may already use it), except CloudFront's"
            " always-free allowance when cost.usage.cloudfront_free_allowance",
            "nat_instance_root_volume": f"{AMI_DEFAULT_ROOT_VOLUME_GB:g} GB gp3 when unspecified",
            "unverified_prices": prices.unverified(),
            **usage.model_dump(),
        },
    )
    for stack in stacks.service_stacks():
        kind = stacks.kind_of(stack.service)
        if kind is not None:
            bill.kinds.setdefault(stack.service, kind)
    for stack in stacks:
        ctx = _Ctx(stack, stacks, prices, usage, bill)
        for rid, res in stack.resources.items():
            rtype = res.type
            if rtype in HANDLERS:
                HANDLERS[rtype](ctx, res)
            elif rtype in FREE:
                bill.free.append(Unpriced(stack.name, rid, rtype, FREE[rtype]))
            elif rtype.startswith("Custom::"):
                bill.free.append(Unpriced(stack.name, rid, rtype, "custom resource (deploy-time)"))
            else:
                ctx.not_priced(rid, rtype, "resource type not in the estimator")
    return bill
