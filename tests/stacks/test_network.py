"""NetworkStack: subnets per AZ and the three egress modes."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

NAT_GATEWAY = {}
NAT_INSTANCE = {"network": {"egress": "nat-instance"}}
PUBLIC = {"network": {"egress": "public"}}


EGRESS_MODES = {"nat-gateway": NAT_GATEWAY, "nat-instance": NAT_INSTANCE, "public": PUBLIC}


def subnets_by_kind(template: dict) -> dict[str, list[dict]]:
    """Subnet properties by CDK's subnet-type tag (MapPublicIpOnLaunch is false for all)."""
    out: dict[str, list[dict]] = {"public": [], "private": []}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::EC2::Subnet":
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            public = tags["aws-cdk:subnet-type"] == "Public"
            out["public" if public else "private"].append(resource["Properties"])
    return out


def resources_of(template: dict, kind: str) -> list[dict]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_vpc_spans_two_azs_with_public_and_private_subnets(demo):
    template = demo.template_json("network")
    subnets = subnets_by_kind(template)
    assert sorted(s["AvailabilityZone"] for s in subnets["public"]) == ["us-east-1a", "us-east-1b"]
    assert sorted(s["AvailabilityZone"] for s in subnets["private"]) == ["us-east-1a", "us-east-1b"]
    demo.template("network").has_resource_properties(
        "AWS::EC2::VPC",
        {"CidrBlock": "10.40.0.0/20", "EnableDnsHostnames": True, "EnableDnsSupport": True},
    )


def test_default_egress_is_exactly_one_nat_gateway_shared_by_both_private_subnets(demo):
    t = demo.template("network")
    t.resource_count_is("AWS::EC2::NatGateway", 1)
    t.resource_count_is("AWS::EC2::EIP", 1)
    t.resource_count_is("AWS::EC2::Instance", 0)
    nat_routes = t.find_resources(
        "AWS::EC2::Route", {"Properties": {"NatGatewayId": Match.any_value()}}
    )
    assert len(nat_routes) == 2  # one default route per private route table, same gateway
    assert len({str(r["Properties"]["NatGatewayId"]) for r in nat_routes.values()}) == 1


def test_nat_instance_mode_runs_one_small_graviton_instance(synth):
    t = synth(NAT_INSTANCE).template("network")
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    t.resource_count_is("AWS::EC2::Instance", 1)
    t.has_resource_properties(
        "AWS::EC2::Instance",
        {
            "InstanceType": "t4g.nano",
            "SourceDestCheck": False,
            "BlockDeviceMappings": [
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": Match.object_like(
                        {"Encrypted": True, "VolumeType": "gp3", "VolumeSize": 8}
                    ),
                }
            ],
        },
    )
    routes = t.find_resources("AWS::EC2::Route", {"Properties": {"InstanceId": Match.any_value()}})
    assert len(routes) == 2


def test_nat_instance_admits_only_https_from_each_private_subnet(synth):
    template = synth(NAT_INSTANCE).template_json("network")
    private_cidrs = sorted(s["CidrBlock"] for s in subnets_by_kind(template)["private"])
    [group] = resources_of(template, "AWS::EC2::SecurityGroup")  # the NAT instance's
    ingress = group["SecurityGroupIngress"]
    assert sorted(rule["CidrIp"] for rule in ingress) == private_cidrs
    for rule in ingress:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    # No stand-alone rule widens it either.
    assert resources_of(template, "AWS::EC2::SecurityGroupIngress") == []


def test_nat_instance_requires_imdsv2(synth):
    [instance] = resources_of(synth(NAT_INSTANCE).template_json("network"), "AWS::EC2::Instance")
    assert instance["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
    }


def test_nat_instance_role_lets_ssm_patch_it(synth):
    template = synth(NAT_INSTANCE).template_json("network")
    [instance] = resources_of(template, "AWS::EC2::Instance")
    profile = template["Resources"][instance["IamInstanceProfile"]["Ref"]]["Properties"]
    [role_ref] = profile["Roles"]
    role = template["Resources"][role_ref["Ref"]]["Properties"]
    [policy] = role["ManagedPolicyArns"]
    assert policy["Fn::Join"][1][-1] == ":iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert "Policies" not in role  # nothing beyond the SSM agent's managed policy


@pytest.mark.parametrize("mode", EGRESS_MODES)
def test_public_subnets_never_auto_assign_public_ips(synth, mode):
    template = synth(EGRESS_MODES[mode]).template_json("network")
    subnets = subnets_by_kind(template)
    assert len(subnets["public"]) == 2
    for subnet in subnets["public"] + subnets["private"]:
        assert subnet["MapPublicIpOnLaunch"] is False


@pytest.mark.parametrize("mode", EGRESS_MODES)
def test_what_needs_a_public_ip_asks_for_its_own(synth, mode):
    """With no auto-assigned IPs, each egress path must request its public address."""
    built = synth(EGRESS_MODES[mode])
    network = built.template_json("network")
    service = built.template_json("service")
    [ecs_service] = resources_of(service, "AWS::ECS::Service")
    assign = ecs_service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"]
    instances = resources_of(network, "AWS::EC2::Instance")
    gateways = resources_of(network, "AWS::EC2::NatGateway")
    if mode == "public":
        assert assign == "ENABLED" and instances == [] and gateways == []
    elif mode == "nat-instance":
        assert assign == "DISABLED" and gateways == []
        [instance] = instances
        [interface] = instance["NetworkInterfaces"]
        assert interface["AssociatePublicIpAddress"] is True
    else:
        assert assign == "DISABLED" and instances == []
        [gateway] = gateways
        assert "Fn::GetAtt" in gateway["AllocationId"]  # its EIP
        assert len(resources_of(network, "AWS::EC2::EIP")) == 1


def test_public_mode_has_no_nat_and_no_private_subnets(synth):
    template = synth(PUBLIC).template_json("network")
    types = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::EC2::NatGateway" not in types and "AWS::EC2::Instance" not in types
    subnets = subnets_by_kind(template)
    assert len(subnets["public"]) == 2 and subnets["private"] == []


def test_three_azs_when_configured(synth):
    template = synth({"network": {"max_azs": 3}}).template_json("network")
    assert len(subnets_by_kind(template)["private"]) == 3
    assert sum(r["Type"] == "AWS::EC2::NatGateway" for r in template["Resources"].values()) == 1


def test_default_security_group_is_restricted(demo):
    demo.template("network").resource_count_is("Custom::VpcRestrictDefaultSG", 1)


@pytest.mark.parametrize(
    ("overrides", "present"), [({}, True), ({"network": {"flow_logs": {"enabled": False}}}, False)]
)
def test_flow_logs_follow_the_config(synth, overrides, present):
    t = synth(overrides).template("network")
    t.resource_count_is("AWS::EC2::FlowLog", int(present))
    if present:
        t.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 14})
        t.has_resource_properties(
            "AWS::EC2::FlowLog",
            {"TrafficType": "REJECT", "LogDestinationType": "cloud-watch-logs"},
        )
