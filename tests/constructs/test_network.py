"""Network and its Egress on a bare Stack(): the three egress modes, the subnets each brings,
the NAT instance's hardening, the flow log, and the path-based Name tags the network stack
gave the VPC before it was a unit of its own (renaming them would show in every console)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from fargate_env.config import NetworkConfig
from fargate_env.constructs.network import Network

AZS = ["us-east-1a", "us-east-1b"]


def _bare(alb_private: bool = False, **network) -> tuple[Network, Template]:
    stack = cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(region="us-east-1"))
    built = Network(stack, network=NetworkConfig(**network), availability_zones=AZS,
                    alb_in_private_subnets=alb_private)  # fmt: skip
    return built, Template.from_stack(stack)


def _subnet_types(template: Template) -> list[str]:
    found = template.find_resources("AWS::EC2::Subnet").values()
    return sorted(
        tag["Value"]
        for s in found
        for tag in s["Properties"]["Tags"]
        if tag["Key"] == "aws-cdk:subnet-type"
    )


@pytest.mark.parametrize(
    ("egress", "gateways", "instances", "subnets"),
    [
        ("nat-gateway", 1, 0, ["Private"] * 2 + ["Public"] * 2),
        ("nat-instance", 0, 1, ["Private"] * 2 + ["Public"] * 2),
        ("public", 0, 0, ["Public"] * 2),
    ],
)
def test_each_egress_mode_brings_its_nat_and_subnets(egress, gateways, instances, subnets):
    built, template = _bare(egress=egress)
    template.resource_count_is("AWS::EC2::NatGateway", gateways)
    template.resource_count_is("AWS::EC2::Instance", instances)
    assert _subnet_types(template) == subnets
    assert built.tasks_need_public_ip is (egress == "public")
    expected = ec2.SubnetType.PUBLIC if egress == "public" else ec2.SubnetType.PRIVATE_WITH_EGRESS
    assert built.task_subnets.subnet_type == expected


def test_public_egress_with_an_internal_alb_gets_isolated_private_subnets():
    built, template = _bare(alb_private=True, egress="public")
    assert _subnet_types(template) == ["Isolated"] * 2 + ["Public"] * 2
    assert built.alb_subnets.subnet_group_name == "private"


def test_nat_instance_is_hardened():
    _, template = _bare(egress="nat-instance", nat_instance_volume_gb=12)
    instance = next(iter(template.find_resources("AWS::EC2::Instance").values()))["Properties"]
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    ebs = instance["BlockDeviceMappings"][0]["Ebs"]
    assert (ebs["Encrypted"], ebs["VolumeSize"]) == (True, 12)
    group = next(iter(template.find_resources("AWS::EC2::SecurityGroup").values()))
    ports = {r["FromPort"] for r in group["Properties"]["SecurityGroupIngress"]}
    assert ports == {443}
    roles = template.find_resources("AWS::IAM::Role")
    policies = str([r["Properties"].get("ManagedPolicyArns") for r in roles.values()])
    assert "AmazonSSMManagedInstanceCore" in policies


def test_flow_log_rejects_only_when_enabled():
    _, template = _bare(flow_logs={"enabled": True, "retention_days": 7})
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})
    _, template = _bare(flow_logs={"enabled": False})
    template.resource_count_is("AWS::EC2::FlowLog", 0)


def test_vpc_keeps_the_stack_level_ids_and_name_tags():
    built, template = _bare()
    stack = cdk.Stack.of(built.vpc)
    assert stack.get_logical_id(built.vpc.node.default_child) == "Vpc8378EB38"
    vpc = template.find_resources("AWS::EC2::VPC")["Vpc8378EB38"]["Properties"]
    assert {"Key": "Name", "Value": "Bare/Vpc"} in vpc["Tags"]
