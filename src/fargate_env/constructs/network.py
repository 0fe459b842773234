"""Network: the VPC over the configured AZs, its subnets and route tables, egress
(constructs/egress.py) and the optional REJECT flow log.

Built in the scope it is given, under the ids the network stack always used: the VPC's and
subnets' Name tags are their node paths, so a child construct would rename them and change
every logical id (constructs/__init__.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from fargate_env.config import NetworkConfig
from fargate_env.constructs.common import retention
from fargate_env.constructs.egress import Egress

PUBLIC_SUBNET = "public"
PRIVATE_SUBNET = "private"


class Network:
    """With public egress the private subnets are not created, unless the internal ALB of
    `load_balancer.edge = "cloudfront"` needs them (`alb_in_private_subnets`): then they are
    isolated (no route to the internet), for the ALB and CloudFront's VPC-origin interfaces."""

    def __init__(
        self,
        scope: Construct,
        *,
        network: NetworkConfig,
        availability_zones: Sequence[str],
        alb_in_private_subnets: bool,
    ) -> None:
        net = network
        self.alb_private = alb_in_private_subnets
        self.egress = Egress(egress=net.egress, nat_instance_type=net.nat_instance_type,
                             nat_instance_volume_gb=net.nat_instance_volume_gb)  # fmt: skip
        self.vpc = ec2.Vpc(
            scope,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(net.cidr),
            availability_zones=list(availability_zones),
            nat_gateways=self.egress.nat_gateways,
            nat_gateway_provider=self.egress.provider,
            subnet_configuration=self._subnets(net.cidr),
            # CDK strips every rule from the default security group (cdk-nag EC2-style finding).
            restrict_default_security_group=True,
            enable_dns_hostnames=True,
            enable_dns_support=True,
        )
        self.egress.harden(self.vpc)
        if net.flow_logs.enabled:
            log_group = logs.LogGroup(
                scope,
                "FlowLogGroup",
                retention=retention(net.flow_logs.retention_days),
                removal_policy=RemovalPolicy.DESTROY,
            )
            self.vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
                traffic_type=ec2.FlowLogTrafficType.REJECT,
            )

    def _subnets(self, cidr: str) -> list[ec2.SubnetConfiguration]:
        subnets = [
            ec2.SubnetConfiguration(
                name=PUBLIC_SUBNET,
                subnet_type=ec2.SubnetType.PUBLIC,
                cidr_mask=_mask(cidr),
                # Nothing needs it: "public" tasks ask for an IP (assign_public_ip), the NAT
                # instance asks for its own, the NAT gateway has an EIP. Anything else launched
                # here stays private instead of getting a billed, reachable IPv4 by accident.
                map_public_ip_on_launch=False,
            )
        ]
        if not self.egress.public:
            private = ec2.SubnetType.PRIVATE_WITH_EGRESS
        elif self.alb_private:
            # CloudFront VPC origins need the origin in a private subnet (and an internet
            # gateway on the VPC, which the public subnets bring); the ALB needs no egress.
            private = ec2.SubnetType.PRIVATE_ISOLATED
        else:
            return subnets
        subnets.append(
            ec2.SubnetConfiguration(name=PRIVATE_SUBNET, subnet_type=private, cidr_mask=_mask(cidr))
        )
        return subnets

    @property
    def task_subnets(self) -> ec2.SubnetSelection:
        """Where the service's tasks run: private subnets unless egress is `public`."""
        public = self.egress.public
        kind = ec2.SubnetType.PUBLIC if public else ec2.SubnetType.PRIVATE_WITH_EGRESS
        return ec2.SubnetSelection(subnet_type=kind)

    @property
    def alb_subnets(self) -> ec2.SubnetSelection:
        """Public subnets for an internet-facing ALB; the private group for an internal one
        (with egress through NAT, or isolated under public egress)."""
        if self.alb_private:
            return ec2.SubnetSelection(subnet_group_name=PRIVATE_SUBNET)
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)

    @property
    def tasks_need_public_ip(self) -> bool:
        return self.egress.public


def _mask(cidr: str) -> int:
    """Split the VPC into 4 (2 AZs x public/private) or 6 equal subnets, at most /28 small."""
    prefix = int(cidr.split("/")[1])
    return min(prefix + 3, 28)
