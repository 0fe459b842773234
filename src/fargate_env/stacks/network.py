"""NetworkStack: the VPC, its subnets and route tables, and how tasks reach the internet
(constructs/network.py, constructs/egress.py)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from fargate_env.config import NetworkConfig
from fargate_env.constructs.network import Network


class NetworkStack(Stack):
    """VPC over the configured AZs; egress by `network.egress` (nat-gateway, nat-instance or
    public)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: NetworkConfig,
        availability_zones: Sequence[str],
        alb_in_private_subnets: bool,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = Network(self, network=network, availability_zones=availability_zones,
                               alb_in_private_subnets=alb_in_private_subnets)  # fmt: skip
        self.vpc = self.network.vpc

    @property
    def task_subnets(self) -> ec2.SubnetSelection:
        return self.network.task_subnets

    @property
    def alb_subnets(self) -> ec2.SubnetSelection:
        return self.network.alb_subnets

    @property
    def tasks_need_public_ip(self) -> bool:
        return self.network.tasks_need_public_ip
