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
    return notes
