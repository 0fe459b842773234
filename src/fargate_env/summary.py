"""The `synth` summary: what was synthesized, read back from the templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fargate_env import render
from fargate_env.assembly import Environment, ListenerRule
from fargate_env.config import EnvironmentConfig
from fargate_env.speed import duration, service_speed

# Resource types worth naming in the summary (singular, plural); the rest is counted as "other".
KEY_TYPES = {
    "AWS::EC2::VPC": ("VPC", "VPCs"),
    "AWS::EC2::Subnet": ("subnet", "subnets"),
    "AWS::EC2::NatGateway": ("NAT gateway", "NAT gateways"),
    "AWS::EC2::Instance": ("EC2 instance", "EC2 instances"),
    "AWS::EC2::SecurityGroup": ("security group", "security groups"),
    "AWS::ECR::Repository": ("ECR repository", "ECR repositories"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("load balancer", "load balancers"),
    "AWS::ElasticLoadBalancingV2::Listener": ("listener", "listeners"),
    "AWS::S3::Bucket": ("S3 bucket", "S3 buckets"),
    "AWS::ECS::Service": ("ECS service", "ECS services"),
    "AWS::IAM::Role": ("IAM role", "IAM roles"),
    "AWS::Logs::LogGroup": ("log group", "log groups"),
    "AWS::CloudWatch::Alarm": ("alarm", "alarms"),
    "AWS::CloudWatch::Dashboard": ("dashboard", "dashboards"),
    "AWS::SNS::Topic": ("SNS topic", "SNS topics"),
    "AWS::Events::Rule": ("event rule", "event rules"),
    "AWS::Budgets::Budget": ("budget", "budgets"),
    "AWS::ServiceDiscovery::HttpNamespace": ("Service Connect namespace", "namespaces"),
    "AWS::Scheduler::Schedule": ("schedule", "schedules"),
    "AWS::StepFunctions::StateMachine": ("state machine", "state machines"),
}


def describe_counts(counts: dict[str, int]) -> str:
    """ "1 VPC, 4 subnets, ..., 9 other" in KEY_TYPES order."""
    parts = [
        f"{counts[kind]} {names[counts[kind] != 1]}"
        for kind, names in KEY_TYPES.items()
        if counts.get(kind)
    ]
    other = sum(n for kind, n in counts.items() if kind not in KEY_TYPES)
    if other:
        parts.append(f"{other} other")
    return ", ".join(parts)


def render_summary(
    console: Console, config: EnvironmentConfig, stacks: Environment, outdir: Path
) -> None:
    table = render.table(Text(f"{config.name} ({config.region}) -> {outdir}/"))
    # Stack names are never cut; the counts wrap between words.
    table.add_column("stack", no_wrap=True)
    table.add_column("resources", justify="right")
    table.add_column("of which", overflow="fold")
    for stack in stacks:
        counts = stack.resource_counts
        table.add_row(stack.name, str(sum(counts.values())), describe_counts(counts))
    console.print(table)
    console.print(
        f"egress: {config.network.egress}; AZs: {', '.join(config.availability_zones)}",
        highlight=False,
    )
    console.print(routes_table(stacks))
    for line in summary_notes(config, stacks):
        render.paragraph(console, line)


def summary_notes(config: EnvironmentConfig, stacks: Environment) -> list[str]:
    """Extra lines other modules contribute (speed figures, warnings); read from templates."""
    notes: list[str] = []
    if config.placeholders() == ["account"] and config.account is None:
        notes.append("account: none in the file; AWS commands use the credentials' account")
    elif config.placeholders():
        notes.append(
            "[yellow]placeholders[/] (fine offline; deploy refuses them): "
            + ", ".join(config.placeholders())
        )
    notes.extend(overlap_notes(config))
    notes.extend(kind_notes(config, stacks))
    notes.extend(load_balancer_notes(stacks))
    notes.extend(edge_notes(config, stacks))
    return notes


def kind_notes(config: EnvironmentConfig, stacks: Environment) -> list[str]:
    """One line per service that is not behind the load balancer, read from its stack: where
    a backend is reached, what a worker scales on, when a job runs and how it is bounded."""
    notes: list[str] = []
    for stack in stacks.service_stacks():
        name = stack.service or ""
        kind = stacks.kind_of(name)
        if kind == "backend":
            service = stacks.service(stack)
            if service is None or service.connect_alias is None:
                continue
            dns, port = service.connect_alias
            notes.append(
                f"backend {name}: reached at http://{dns}:{port} inside the environment"
                f" (Service Connect), no listener rule; its proxy takes"
                f" {service.proxy_cpu_units} CPU units / {service.proxy_memory_mib} MiB of"
                " each task"
            )
        elif kind == "worker":
            queue = config.services[name].queue if name in config.services else None
            depth = f" and the depth of SQS queue {queue}" if queue else ""
            notes.append(f"worker {name}: no port, no listener rule; scales on CPU{depth}")
        elif kind == "job" and (job := stacks.job(stack)) is not None:
            bound = f", stopped after {job.timeout_minutes} min" if job.timeout_minutes else ""
            notes.append(
                f"job {name}: {job.expression} {job.timezone} on {job.capacity_provider}"
                f"{bound}, {job.start_retries} start retries; no task between runs"
                f" (one now: fargate-env run-job {name})"
            )
    return notes


def edge_notes(config: EnvironmentConfig, stacks: Environment) -> list[str]:
    """With a CloudFront distribution in the templates: the path a request takes, what the
    extra hop changes in the speed figures, and the TLS waiver when it applies."""
    edges = stacks.edges()
    if not edges:
        return []
    viewer = edges[0].viewer_protocol_policy or "?"
    name = edges[0].name or "<distribution>.cloudfront.net"
    tls = edges[0].minimum_tls
    notes = [
        f"edge: CloudFront https://{name} ({viewer}, no caching) -> VPC origin -> internal"
        " ALB (HTTP inside the VPC, no public IPv4)",
        "speed: one more hop (viewer -> CloudFront edge -> ALB) on every request; the target"
        " group's health checks run ALB -> task as before, so the detect and deploy-step"
        " figures above do not change",
    ]
    if tls:
        notes.append(f"TLS: {tls} on {name}")
    from fargate_env.compliance import waivers_for  # cdk-nag and cfn-lint load only here

    for waiver in waivers_for(config, "AwsSolutions-CFR4"):
        notes.append(f"[yellow]waived {waiver.rule}[/] (TLS): {waiver.reason}")
    return notes


def routes_table(stacks: Environment) -> Table:
    """Every listener rule in the order the ALB evaluates them (lowest priority first), with
    its service's speed figures on the service's first rule, read from the synthesized
    listener rules, target group and ECS service: how soon an unhealthy target leaves the
    rotation, and the worst case of a healthy deployment past task start (the target group's
    register + drain time plus every bake of the strategy; speed.py)."""
    table = render.table("listener rules, in the order the load balancer tries them")
    # Fits 80 columns: service names (at most 24 characters) are never cut, each route value
    # gets its own line and only a value wider than the column itself is folded.
    # Hosts and paths one per line, without labels (a path starts with "/", a host never does).
    table.add_column("rule", justify="right", no_wrap=True)
    table.add_column("service", no_wrap=True)
    table.add_column("hosts / paths", overflow="fold")
    table.add_column("detect\n/ deploy", justify="right", no_wrap=True)
    rows: list[tuple[int, str, ListenerRule]] = []
    figures: dict[str, str] = {}
    for stack in stacks.service_stacks():
        service = stack.service or ""
        speed = service_speed(stacks.service(stack))
        # Narrow, so hosts and paths keep the width: the strategy only when not rolling.
        figures[service] = "-"
        if speed:
            strategy = "" if speed.strategy == "rolling" else f"\n{speed.strategy}"
            figures[service] = (
                f"{speed.detect_seconds} s\n{duration(speed.deploy_seconds)}{strategy}"
            )
        rows += [(rule.priority, service, rule) for rule in stacks.rules(stack)]
    shown: set[str] = set()
    for priority, service, rule in sorted(rows, key=lambda row: row[0]):
        table.add_row(
            str(priority),
            service,
            Text(describe_conditions(rule.conditions, sep="\n")),
            figures[service] if service not in shown else "",
        )
        shown.add(service)
    return table


def overlap_notes(config: EnvironmentConfig) -> list[str]:
    """Rules of two services that one request can match, in the order the ALB tries them."""
    return [
        f"overlap: {a.service} (rule {a.priority}: {' '.join(a.hosts + a.paths)}) is tried"
        f" before {b.service} (rule {b.priority}: {' '.join(b.hosts + b.paths)}) for a"
        " request both match"
        for a, b in config.overlaps()
    ]


def describe_conditions(conditions: Sequence[Mapping], sep: str | None = None) -> str:
    """ "host a.example.com, path /api /api/*" from a listener rule's conditions; with `sep`,
    the bare values "a.example.com", "/api", "/api/*" joined by it."""
    parts = []
    for condition in conditions:
        field = condition.get("Field", "")
        if field == "http-header":
            header = condition.get("HttpHeaderConfig") or {}
            parts.append(f"test {header.get('HttpHeaderName')}: {' '.join(header['Values'])}")
            continue
        config = condition.get("HostHeaderConfig") or condition.get("PathPatternConfig") or {}
        values = config.get("Values") or condition.get("Values") or []
        label = "host" if field == "host-header" else "path"
        if sep is None:
            parts.append(f"{label} {' '.join(values)}")
        else:
            parts.extend(values)
    text = (", " if sep is None else sep).join(parts)
    return "any request no other rule takes" if text in ("path /*", "/*") else text


def target_group_speed(stacks: Environment) -> tuple[int, int] | None:
    """(unhealthy detection s, rolling-deploy LB overhead s) of the first synthesized target
    group in `stacks` (one service's stack holds one, or two that share their numbers).

    Read from the template, not the config, so the figures show what would really deploy.
    """
    for stack in stacks:
        for service in stacks.services(stack):
            speed = service_speed(service)
            if speed is not None:
                return speed.detect_seconds, speed.step_overhead_seconds
    return None


def load_balancer_notes(stacks: Environment) -> list[str]:
    """Speed figures of the target group and a warning when no listener speaks HTTPS."""
    notes: list[str] = []
    speeds = [speed for s in stacks.service_stacks() if (speed := service_speed(stacks.service(s)))]
    if speeds:
        notes.append(
            f"load balancer: unhealthy target detected in {max(s.detect_seconds for s in speeds)}"
            f" s; rolling-deploy overhead {max(s.step_overhead_seconds for s in speeds)} s per"
            " step (worst service)"
        )
    listeners = stacks.listeners()
    if listeners and not stacks.edges() and not any(x.protocol == "HTTPS" for x in listeners):
        notes.append(
            "[bold yellow]warning:[/] HTTP only (allow_http_only = true): traffic to the load"
            " balancer is unencrypted; set load_balancer.certificate_arn or domain_name"
        )
    return notes
