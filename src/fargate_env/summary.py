"""The `synth` summary: what was synthesized, read back from the templates."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from fargate_env.config import EnvironmentConfig
from fargate_env.synth import StackSummary

# Resource types worth naming in the summary; everything else is counted in "other".
KEY_TYPES = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "subnets",
    "AWS::EC2::NatGateway": "NAT gateways",
    "AWS::EC2::Instance": "EC2 instances",
    "AWS::EC2::SecurityGroup": "security groups",
    "AWS::ECR::Repository": "ECR repositories",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancers",
    "AWS::ElasticLoadBalancingV2::Listener": "listeners",
    "AWS::ECS::Service": "ECS services",
    "AWS::CloudWatch::Alarm": "alarms",
    "AWS::IAM::Role": "IAM roles",
    "AWS::Logs::LogGroup": "log groups",
}


def render_summary(
    console: Console, config: EnvironmentConfig, stacks: list[StackSummary], outdir: Path
) -> None:
    table = Table(title=f"{config.name} ({config.region}) -> {outdir}/")
    table.add_column("stack")
    table.add_column("resources", justify="right")
    table.add_column("of which")
    for stack in stacks:
        parts = [
            f"{count} {KEY_TYPES[kind]}"
            for kind, count in sorted(stack.resource_counts.items())
            if kind in KEY_TYPES
        ]
        table.add_row(stack.name, str(sum(stack.resource_counts.values())), ", ".join(parts))
    console.print(table)
    console.print(f"egress: {config.network.egress}; AZs: {', '.join(config.availability_zones)}")
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


def target_group_speed(stacks: list[StackSummary]) -> tuple[int, int] | None:
    """(unhealthy detection s, rolling-deploy LB overhead s) of the synthesized target group.

    Read from the template, not the config, so the figures show what would really deploy.
    """
    for stack in stacks:
        for resource in stack.resources.values():
            if resource["Type"] != "AWS::ElasticLoadBalancingV2::TargetGroup":
                continue
            props = resource["Properties"]
            attrs = {a["Key"]: a["Value"] for a in props.get("TargetGroupAttributes", [])}
            # AWS defaults apply when a property is absent (ELB docs: 30 s, 5, 2, 300 s).
            interval = int(props.get("HealthCheckIntervalSeconds", 30))
            healthy = int(props.get("HealthyThresholdCount", 5))
            unhealthy = int(props.get("UnhealthyThresholdCount", 2))
            delay = int(attrs.get("deregistration_delay.timeout_seconds", 300))
            return interval * unhealthy, interval * healthy + delay
    return None


def load_balancer_notes(stacks: list[StackSummary]) -> list[str]:
    """Speed figures of the target group and a warning when no listener speaks HTTPS."""
    notes: list[str] = []
    speed = target_group_speed(stacks)
    if speed is not None:
        notes.append(
            f"load balancer: unhealthy target detected in {speed[0]} s;"
            f" rolling-deploy overhead {speed[1]} s per step"
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
