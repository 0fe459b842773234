"""NetworkStack: the VPC, its subnets and route tables, and how tasks reach the internet."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from fargate_env.config import NetworkConfig
from fargate_env.constructs.common import retention

PUBLIC_SUBNET = "public"
PRIVATE_SUBNET = "private"
# The only port the tasks send to (their security group in stacks/service.py), so the only
# port the NAT instance forwards.
HTTPS_PORT = 443
# Session Manager + Patch Manager through the SSM agent AL2023 ships: patching at no extra cost.
SSM_MANAGED_POLICY = "AmazonSSMManagedInstanceCore"


class NetworkStack(Stack):
    """VPC over the configured AZs; egress by `network.egress`.

    - nat-gateway: exactly one managed NAT gateway shared by both AZs (the plan's design).
    - nat-instance: one small EC2 NAT instance (NatProvider.instance_v2), far cheaper.
    - public: no NAT at all; tasks run in public subnets with public IPs and a security group
      that admits only the load balancer. The private subnets are then not created, unless the
      internal ALB of `load_balancer.edge = "cloudfront"` needs them: then they are isolated
      (no route to the internet at all), for the ALB and CloudFront's VPC-origin interfaces.
    """

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
        net = network
        self.egress = net.egress
        self.alb_private = alb_in_private_subnets

        nat_provider: ec2.NatProvider | None = None
        nat_instance: ec2.NatInstanceProviderV2 | None = None
        if net.egress == "nat-gateway":
            nat_provider = ec2.NatProvider.gateway()
        elif net.egress == "nat-instance":
            nat_provider = nat_instance = ec2.NatProvider.instance_v2(
                instance_type=ec2.InstanceType(net.nat_instance_type),
                machine_image=ec2.MachineImage.latest_amazon_linux2023(
                    cpu_type=_cpu_type(net.nat_instance_type)
                ),
                default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                associate_public_ip_address=True,
            )

        subnets = [
            ec2.SubnetConfiguration(
                name=PUBLIC_SUBNET,
                subnet_type=ec2.SubnetType.PUBLIC,
                cidr_mask=_mask(net.cidr),
                # Nothing needs it: "public" tasks ask for an IP (assign_public_ip), the NAT
                # instance asks for its own, the NAT gateway has an EIP. Anything else launched
                # here stays private instead of getting a billed, reachable IPv4 by accident.
                map_public_ip_on_launch=False,
            )
        ]
        if net.egress != "public":
            subnets.append(
                ec2.SubnetConfiguration(
                    name=PRIVATE_SUBNET,
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidr_mask=_mask(net.cidr),
                )
            )
        elif alb_in_private_subnets:
            # CloudFront VPC origins need the origin in a private subnet (and an internet
            # gateway on the VPC, which the public subnets bring); the ALB needs no egress.
            subnets.append(
                ec2.SubnetConfiguration(
                    name=PRIVATE_SUBNET,
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=_mask(net.cidr),
                )
            )

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(net.cidr),
            availability_zones=list(availability_zones),
            nat_gateways=0 if nat_provider is None else 1,
            nat_gateway_provider=nat_provider,
            subnet_configuration=subnets,
            # CDK strips every rule from the default security group (cdk-nag EC2-style finding).
            restrict_default_security_group=True,
            enable_dns_hostnames=True,
            enable_dns_support=True,
        )
        if nat_instance is not None:
            _harden_nat_instance(nat_instance, self.vpc, net.nat_instance_volume_gb)

        if net.flow_logs.enabled:
            log_group = logs.LogGroup(
                self,
                "FlowLogGroup",
                retention=retention(net.flow_logs.retention_days),
                removal_policy=RemovalPolicy.DESTROY,
            )
            self.vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
                traffic_type=ec2.FlowLogTrafficType.REJECT,
            )

    @property
    def task_subnets(self) -> ec2.SubnetSelection:
        """Where the service's tasks run: private subnets unless egress is `public`."""
        kind = (
            ec2.SubnetType.PUBLIC if self.egress == "public" else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
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
        return self.egress == "public"


def _harden_nat_instance(nat: ec2.NatInstanceProviderV2, vpc: ec2.Vpc, volume_gb: int) -> None:
    """instance_v2 exposes few knobs: shape its security group, role and instance afterwards."""
    # instance_v2 admits nothing by default. Admit only what the tasks send: HTTPS from the
    # private subnets. Their CIDRs are literals, so cdk-nag can see none is 0.0.0.0/0.
    for subnet in vpc.private_subnets:
        nat.connections.allow_from(
            ec2.Peer.ipv4(subnet.ipv4_cidr_block),
            ec2.Port.tcp(HTTPS_PORT),
            f"HTTPS from {subnet.node.id}",
        )
    for instance in nat.gateway_instances:
        instance.role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(SSM_MANAGED_POLICY)
        )
        cfn_instance: ec2.CfnInstance = instance.node.default_child  # type: ignore[assignment]
        # IMDSv2 only: the role's credentials need a PUT-issued token that SSRF-style GETs
        # cannot get; hop limit 1 keeps the token from leaving the instance.
        cfn_instance.metadata_options = ec2.CfnInstance.MetadataOptionsProperty(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        )
        # instance_v2 takes no block devices: give the root volume encryption this way.
        cfn_instance.block_device_mappings = [
            ec2.CfnInstance.BlockDeviceMappingProperty(
                device_name="/dev/xvda",
                ebs=ec2.CfnInstance.EbsProperty(
                    encrypted=True,
                    volume_type="gp3",
                    volume_size=volume_gb,
                    delete_on_termination=True,
                ),
            )
        ]


def _mask(cidr: str) -> int:
    """Split the VPC into 4 (2 AZs x public/private) or 6 equal subnets, at most /28 small."""
    prefix = int(cidr.split("/")[1])
    return min(prefix + 3, 28)


def _cpu_type(instance_type: str) -> ec2.AmazonLinuxCpuType:
    family = instance_type.split(".")[0]
    graviton = (len(family) > 1 and family[-1] == "g") or "g" in family[2:]
    return ec2.AmazonLinuxCpuType.ARM_64 if graviton else ec2.AmazonLinuxCpuType.X86_64
