"""The `synth` summary: what was synthesized, read back from the templates."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fargate_env.assembly import StackSummary
from fargate_env.config import EnvironmentConfig, HealthCheckConfig

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
    console: Console, config: EnvironmentConfig, stacks: list[StackSummary], outdir: Path
) -> None:
    table = Table(title=Text(f"{config.name} ({config.region}) -> {outdir}/"))
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
        console.print(line, highlight=False)


def summary_notes(config: EnvironmentConfig, stacks: list[StackSummary]) -> list[str]:
    """Extra lines other modules contribute (speed figures, warnings); read from templates."""
    notes: list[str] = []
    if config.placeholders():
        notes.append(
            "[yellow]placeholders[/] (fine offline; deploy refuses them): "
            + ", ".join(config.placeholders())
        )
    notes.extend(load_balancer_notes(stacks))
    return notes


def routes_table(stacks: list[StackSummary]) -> Table:
    """Every service with its listener rules and its load-balancer speed figures, read from
    the synthesized listener rules and target groups."""
    table = Table(title="services on the shared load balancer")
    # Fits 80 columns: service names (at most 24 characters) are never cut, each route value
    # gets its own line and only a value wider than the column itself is folded.
    # Hosts and paths one per line, without labels (a path starts with "/", a host never does).
    table.add_column("service", no_wrap=True)
    table.add_column("rule", justify="right", no_wrap=True)
    table.add_column("hosts / paths", overflow="fold")
    table.add_column("detect\n/ step", justify="right", no_wrap=True)
    for stack in stacks:
        if stack.service is None:
            continue
        speed = target_group_speed([stack])
        figures = f"{speed[0]}/{speed[1]} s" if speed else "-"
        rules = sorted(
            (r["Properties"] for r in stack.of_type(LISTENER_RULE).values()),
            key=lambda p: p.get("Priority", 0),
        )
        for index, rule in enumerate(rules):
            table.add_row(
                stack.service if index == 0 else "",
                str(rule.get("Priority")),
                Text(describe_conditions(rule.get("Conditions", []), sep="\n")),
                figures if index == 0 else "",
            )
    return table


LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"


def describe_conditions(conditions: list[dict], sep: str | None = None) -> str:
    """ "host a.example.com, path /api /api/*" from a listener rule's conditions; with `sep`,
    the bare values "a.example.com", "/api", "/api/*" joined by it."""
    parts = []
    for condition in conditions:
        field = condition.get("Field", "")
        config = condition.get("HostHeaderConfig") or condition.get("PathPatternConfig") or {}
        values = config.get("Values") or condition.get("Values") or []
        label = "host" if field == "host-header" else "path"
        if sep is None:
            parts.append(f"{label} {' '.join(values)}")
        else:
            parts.extend(values)
    text = (", " if sep is None else sep).join(parts)
    return "any request no other rule takes" if text in ("path /*", "/*") else text


def target_group_speed(stacks: list[StackSummary]) -> tuple[int, int] | None:
    """(unhealthy detection s, rolling-deploy LB overhead s) of the first synthesized target
    group in `stacks` (one service's stack holds exactly one).

    Read from the template, not the config, so the figures show what would really deploy.
    """
    for stack in stacks:
        for resource in stack.resources.values():
            if resource["Type"] != "AWS::ElasticLoadBalancingV2::TargetGroup":
                continue
            props = resource["Properties"]
            attrs = {a["Key"]: a["Value"] for a in props.get("TargetGroupAttributes", [])}
            # AWS defaults apply when a property is absent (ELB docs: 30 s, 5, 2, 300 s);
            # model_construct: the template's numbers, with the config's formulas, unvalidated.
            deployed = HealthCheckConfig.model_construct(
                interval_seconds=int(props.get("HealthCheckIntervalSeconds", 30)),
                healthy_threshold=int(props.get("HealthyThresholdCount", 5)),
                unhealthy_threshold=int(props.get("UnhealthyThresholdCount", 2)),
                deregistration_delay_seconds=int(
                    attrs.get("deregistration_delay.timeout_seconds", 300)
                ),
            )
            return deployed.detection_seconds, deployed.deploy_overhead_seconds
    return None


def load_balancer_notes(stacks: list[StackSummary]) -> list[str]:
    """Speed figures of the target group and a warning when no listener speaks HTTPS."""
    notes: list[str] = []
    speeds = [speed for s in stacks if s.service and (speed := target_group_speed([s]))]
    if speeds:
        notes.append(
            f"load balancer: unhealthy target detected in {max(d for d, _ in speeds)} s;"
            f" rolling-deploy overhead {max(o for _, o in speeds)} s per step (worst service)"
        )
    listeners = [
        r["Properties"]
        for s in stacks
        for r in s.resources.values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    ]
    if listeners and not any(p.get("Protocol") == "HTTPS" for p in listeners):
        notes.append(
            "[bold yellow]warning:[/] HTTP only (allow_http_only = true): traffic to the load"
            " balancer is unencrypted; set load_balancer.certificate_arn or domain_name"
        )
    return notes
