"""Egress: how tasks reach the internet, one of three ways (`network.egress`).

- nat-gateway: exactly one managed NAT gateway shared by both AZs.
- nat-instance: one small EC2 NAT instance (NatProvider.instance_v2), far cheaper, hardened
  here (HTTPS only from the private subnets, IMDSv2, encrypted root volume, SSM patching).
- public: no NAT at all; tasks run in public subnets with public IPs.

Not a construct of its own: the NAT resources are created by the Vpc (see constructs/network.py
and constructs/__init__.py), so this decides the provider and shapes the instance afterwards.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam

# The only port the tasks send to (their security group in constructs/web_service.py), so the
# only port the NAT instance forwards.
HTTPS_PORT = 443
# Session Manager + Patch Manager through the SSM agent AL2023 ships: patching at no extra cost.
SSM_MANAGED_POLICY = "AmazonSSMManagedInstanceCore"


class Egress:
    def __init__(self, *, egress: str, nat_instance_type: str, nat_instance_volume_gb: int):
        self.egress = egress
        self.volume_gb = nat_instance_volume_gb
        self.provider: ec2.NatProvider | None = None
        self.nat_instance: ec2.NatInstanceProviderV2 | None = None
        if egress == "nat-gateway":
            self.provider = ec2.NatProvider.gateway()
        elif egress == "nat-instance":
            self.provider = self.nat_instance = ec2.NatProvider.instance_v2(
                instance_type=ec2.InstanceType(nat_instance_type),
                machine_image=ec2.MachineImage.latest_amazon_linux2023(
                    cpu_type=_cpu_type(nat_instance_type)
                ),
                default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                associate_public_ip_address=True,
            )

    @property
    def nat_gateways(self) -> int:
        return 0 if self.provider is None else 1

    @property
    def public(self) -> bool:
        """Tasks run in the public subnets and need a public IP."""
        return self.egress == "public"

    def harden(self, vpc: ec2.Vpc) -> None:
        """instance_v2 exposes few knobs: shape its security group, role and instance after the
        Vpc has created it. Nothing to do for a NAT gateway or public egress."""
        nat = self.nat_instance
        if nat is None:
            return
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
                        volume_size=self.volume_gb,
                        delete_on_termination=True,
                    ),
                )
            ]


def _cpu_type(instance_type: str) -> ec2.AmazonLinuxCpuType:
    family = instance_type.split(".")[0]
    graviton = (len(family) > 1 and family[-1] == "g") or "g" in family[2:]
    return ec2.AmazonLinuxCpuType.ARM_64 if graviton else ec2.AmazonLinuxCpuType.X86_64
