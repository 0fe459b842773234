"""load_balancer.edge = "cloudfront": an internal ALB without public IPv4 in private subnets,
reached only through a CloudFront VPC origin; the distribution, its policies, certificate and
alias; the network under each egress mode."""

from __future__ import annotations

import pytest
from rich.console import Console

from fargate_env import outputs
from fargate_env.assembly import read_environment
from fargate_env.config.limits import CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS
from fargate_env.summary import edge_notes, render_summary
from tests.conftest import CLOUDFRONT_EDGE

LB = "platform"
ALB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
DISTRIBUTION = "AWS::CloudFront::Distribution"
VPC_ORIGIN = "AWS::CloudFront::VpcOrigin"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed policy ids (AWS docs)
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
US_EAST_1_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000"
)

# No domain: the distribution's own name and certificate; the demo's certificate is dropped.
CF = {"load_balancer": {**CLOUDFRONT_EDGE, "certificate_arn": None}}
CF_PUBLIC = {**CF, "network": {"egress": "public"}}
CF_NAT_INSTANCE = {**CF, "network": {"egress": "nat-instance"}}
CF_DNS = {
    "load_balancer": {
        **CLOUDFRONT_EDGE,
        "certificate_arn": None,
        "domain_name": "app.example.com",
        "hosted_zone_id": "Z0123456789ABC",
        "hosted_zone_name": "example.com",
        "cloudfront": {"price_class": "PriceClass_All"},
    }
}
CF_IMPORTED = {
    "load_balancer": {
        **CLOUDFRONT_EDGE,
        "certificate_arn": US_EAST_1_ARN,
        "domain_name": "app.example.com",
    }
}
EDGES = {"nat-gateway": CF, "public": CF_PUBLIC, "nat-instance": CF_NAT_INSTANCE}


def of_type(synthesized, part: str, kind: str) -> dict[str, dict]:
    tpl = synthesized.template_json(part)
    return {k: r for k, r in tpl["Resources"].items() if r["Type"] == kind}


def the(synthesized, kind: str, part: str = LB) -> tuple[str, dict]:
    found = of_type(synthesized, part, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return next(iter(found.items()))


def subnet_names(synthesized) -> dict[str, str]:
    """logical id -> CDK subnet group name of every subnet in the network stack."""
    return {
        rid: next(t["Value"] for t in r["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name")
        for rid, r in of_type(synthesized, "network", "AWS::EC2::Subnet").items()
    }


@pytest.fixture(params=list(EDGES), scope="module")
def edge(request, synth):
    return synth(EDGES[request.param])


# --- the ALB: internal, private subnets, no public IPv4, one HTTP listener ------------------


def test_alb_is_internal_in_the_private_subnets(edge):
    props = the(edge, ALB_TYPE)[1]["Properties"]
    assert props["Scheme"] == "internal"
    subnets = [s["Fn::ImportValue"] for s in props["Subnets"]]
    assert len(subnets) == 2
    assert all("privateSubnet" in s for s in subnets), subnets
    # No public IPv4 anywhere on it: no subnet mappings with EIPs, no public subnets.
    assert "SubnetMappings" not in props
    assert not any("publicSubnet" in s for s in subnets)


def test_private_subnets_have_no_route_to_the_internet_under_public_egress(synth):
    public = synth(CF_PUBLIC)
    names = subnet_names(public)
    assert sorted(names.values()) == ["private", "private", "public", "public"]
    network = public.template_json("network")["Resources"]
    private_tables = {
        r["Properties"]["RouteTableId"]["Ref"]
        for r in network.values()
        if r["Type"] == "AWS::EC2::SubnetRouteTableAssociation"
        and names.get(r["Properties"]["SubnetId"]["Ref"]) == "private"
    }
    assert private_tables
    routes = [r for r in network.values() if r["Type"] == "AWS::EC2::Route"]
    assert routes, "the public subnets still route to the internet gateway"
    assert not [r for r in routes if r["Properties"]["RouteTableId"]["Ref"] in private_tables]
    # The tasks stay in the public subnets with their own IPs (the cheapest egress).
    service = the(public, "AWS::ECS::Service", "service:web")[1]["Properties"]
    vpc_conf = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc_conf["AssignPublicIp"] == "ENABLED"
    assert all("publicSubnet" in s["Fn::ImportValue"] for s in vpc_conf["Subnets"])


def test_public_egress_with_alb_edge_still_has_no_private_subnets(synth):
    public_alb = synth({"network": {"egress": "public"}})
    assert sorted(subnet_names(public_alb).values()) == ["public", "public"]


def test_only_one_http_listener_and_nothing_open_to_the_internet(edge):
    listeners = of_type(edge, LB, LISTENER)
    assert [r["Properties"]["Protocol"] for r in listeners.values()] == ["HTTP"]
    (listener,) = listeners.values()
    assert listener["Properties"]["Port"] == 80
    assert listener["Properties"]["DefaultActions"][0]["Type"] == "fixed-response"
    assert of_type(edge, LB, "AWS::CertificateManager::Certificate") == {}


def test_alb_security_group_admits_only_cloudfronts_origin_facing_prefix_list(edge):
    sg_id, sg = the(edge, "AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in sg["Properties"]  # no inline 0.0.0.0/0
    rules = [
        r["Properties"]
        for r in of_type(edge, LB, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert len(rules) == 1
    (rule,) = rules
    assert rule["SourcePrefixListId"] == CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS["us-east-1"]
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (80, 80, "tcp")
    assert "CidrIp" not in rule and "CidrIpv6" not in rule


def test_prefix_list_override_is_used(synth):
    custom = synth({**CF, "load_balancer": {**CF["load_balancer"],
                    "cloudfront": {"origin_prefix_list_id": "pl-0123abcd"}}})  # fmt: skip
    rules = of_type(custom, LB, "AWS::EC2::SecurityGroupIngress").values()
    assert [r["Properties"]["SourcePrefixListId"] for r in rules] == ["pl-0123abcd"]


# --- the distribution -----------------------------------------------------------------------


def test_vpc_origin_points_at_the_alb_over_http(edge):
    alb_id, _ = the(edge, ALB_TYPE)
    origin_id, origin = the(edge, VPC_ORIGIN)
    endpoint = origin["Properties"]["VpcOriginEndpointConfig"]
    assert endpoint["Arn"] == {"Ref": alb_id}
    assert endpoint["OriginProtocolPolicy"] == "http-only"
    assert endpoint["HTTPPort"] == 80
    dist = the(edge, DISTRIBUTION)[1]["Properties"]["DistributionConfig"]
    (cf_origin,) = dist["Origins"]
    assert cf_origin["VpcOriginConfig"]["VpcOriginId"] == {"Fn::GetAtt": [origin_id, "Id"]}
    assert cf_origin["DomainName"] == {"Fn::GetAtt": [alb_id, "DNSName"]}


def test_every_path_goes_to_the_alb_uncached_with_every_viewer_header(edge):
    dist = the(edge, DISTRIBUTION)[1]["Properties"]["DistributionConfig"]
    behavior = dist["DefaultCacheBehavior"]
    assert "CacheBehaviors" not in dist  # the default behavior takes every path
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER  # Host, cookies, query strings
    assert set(behavior["AllowedMethods"]) >= {"GET", "POST", "PUT", "DELETE", "PATCH"}
    assert dist["PriceClass"] == "PriceClass_100"


def test_without_domain_no_certificate_alias_or_record(synth):
    dist = the(synth(CF), DISTRIBUTION)[1]["Properties"]["DistributionConfig"]
    assert "Aliases" not in dist
    assert "ViewerCertificate" not in dist  # CloudFront's default *.cloudfront.net certificate
    assert of_type(synth(CF), LB, "AWS::Route53::RecordSet") == {}


def test_base_url_is_the_distributions_https_name(synth):
    dist_id, _ = the(synth(CF), DISTRIBUTION)
    out = synth(CF).template_json(LB)["Outputs"]
    assert out[outputs.BASE_URL]["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [dist_id, "DomainName"]}]]
    }
    assert out[outputs.DISTRIBUTION_DOMAIN]["Value"] == {"Fn::GetAtt": [dist_id, "DomainName"]}


def test_domain_gets_us_east_1_certificate_tls12_2021_and_alias_records(synth):
    dns = synth(CF_DNS)
    dist_id, dist = the(dns, DISTRIBUTION)
    config = dist["Properties"]["DistributionConfig"]
    assert config["Aliases"] == ["app.example.com"]
    cert_id, cert = the(dns, "AWS::CertificateManager::Certificate")
    assert cert["Properties"]["DomainName"] == "app.example.com"
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": {"Ref": cert_id},
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }
    assert config["PriceClass"] == "PriceClass_All"
    records = of_type(dns, LB, "AWS::Route53::RecordSet").values()
    assert sorted(r["Properties"]["Type"] for r in records) == ["A", "AAAA"]
    for record in records:
        assert record["Properties"]["Name"] == "app.example.com."
        assert record["Properties"]["AliasTarget"]["DNSName"] == {
            "Fn::GetAtt": [dist_id, "DomainName"]
        }
    out = dns.template_json(LB)["Outputs"]
    assert out[outputs.BASE_URL]["Value"] == "https://app.example.com"


def test_imported_certificate_is_used_by_arn(synth):
    config = the(synth(CF_IMPORTED), DISTRIBUTION)[1]["Properties"]["DistributionConfig"]
    assert config["ViewerCertificate"]["AcmCertificateArn"] == US_EAST_1_ARN
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert of_type(synth(CF_IMPORTED), LB, "AWS::Route53::RecordSet") == {}


def test_alb_edge_has_no_distribution(demo):
    assert of_type(demo, LB, DISTRIBUTION) == {}
    assert of_type(demo, LB, VPC_ORIGIN) == {}


# --- summary --------------------------------------------------------------------------------


def summary_text(synthesized) -> str:
    console = Console(record=True, width=80)
    render_summary(
        console, synthesized.config, read_environment(synthesized.outdir), synthesized.outdir
    )
    return console.export_text()


def test_summary_states_the_hop_and_the_tls_waiver_without_domain(synth):
    text = summary_text(synth(CF))
    assert "edge: CloudFront https://" in text
    assert "one more hop" in text and "do not change" in text
    assert "AwsSolutions-CFR4" in text
    assert "HTTP only" not in text  # the HTTP listener is inside the VPC, not a warning
    assert all(len(line) <= 80 for line in text.splitlines())


def test_summary_with_domain_states_tls12_and_no_waiver(synth):
    dns = synth(CF_DNS)
    notes = " ".join(edge_notes(dns.config, read_environment(dns.outdir)))
    assert "TLSv1.2_2021 on app.example.com" in notes
    assert "CFR4" not in notes


def test_config_edge_defaults_to_alb(demo):
    assert demo.config.load_balancer.edge == "alb"


def test_quickstart_synthesizes_with_nothing_to_fill_in_but_the_account(tmp_path):
    from typer.testing import CliRunner

    from fargate_env.cli import app

    out = tmp_path / "cdk.out"
    result = CliRunner().invoke(app, ["synth", "--env", "quickstart", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "account: none in the file; AWS commands use the credentials' account" in result.stdout
    assert "placeholders" not in result.stdout
    assert (out / "quickstart-platform.template.json").exists()
