"""LoadBalancer and Edge on a bare Stack(): listeners per certificate mode, the access-log
bucket, the security group's sources, the distribution, all under the ids the platform stack
always gave them (a changed logical id would replace a deployed ALB, bucket or distribution)."""

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from fargate_env.config import LoadBalancerConfig
from fargate_env.constructs.edge import Edge
from fargate_env.constructs.load_balancer import NO_MATCH_BODY, LoadBalancer

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
PREFIX_LIST = "pl-3b927c52"


def _bare(config: LoadBalancerConfig, prefix_list: str | None = None):
    stack = cdk.Stack(
        cdk.App(), "Bare", env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
    balancer = LoadBalancer(
        stack, load_balancer=config, vpc=vpc, subnets=subnets, origin_prefix_list_id=prefix_list
    )
    return stack, balancer


def _listeners(template: Template) -> dict[int, dict]:
    found = template.find_resources("AWS::ElasticLoadBalancingV2::Listener")
    return {r["Properties"]["Port"]: r["Properties"] for r in found.values()}


def test_imported_certificate_gives_https_with_404_and_a_permanent_redirect():
    stack, balancer = _bare(LoadBalancerConfig(certificate_arn=CERT, idle_timeout_seconds=90))
    template = Template.from_stack(stack)
    listeners = _listeners(template)
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Certificates"] == [{"CertificateArn": CERT}]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["DefaultActions"][0]["FixedResponseConfig"] == {
        "ContentType": "text/plain",
        "MessageBody": NO_MATCH_BODY,
        "StatusCode": "404",
    }
    assert listeners[80]["DefaultActions"][0]["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert balancer.scheme == "https" and balancer.redirect_listener is not None
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [{"Key": "idle_timeout.timeout_seconds", "Value": "90"}]
            ),
        },
    )
    ports = {
        r["FromPort"]
        for r in template.find_resources("AWS::EC2::SecurityGroup")[
            stack.get_logical_id(balancer.security_group.node.default_child)
        ]["Properties"]["SecurityGroupIngress"]
    }
    assert ports == {80, 443}
    # The ids the platform stack gave these before they were a construct.
    assert stack.get_logical_id(balancer.alb.node.default_child).startswith("Alb")
    assert stack.get_logical_id(balancer.access_log_bucket.node.default_child).startswith(
        "AccessLogs"
    )


def test_http_only_serves_80_alone_without_certificate():
    stack, balancer = _bare(LoadBalancerConfig(allow_http_only=True))
    template = Template.from_stack(stack)
    assert set(_listeners(template)) == {80}
    template.resource_count_is("AWS::CertificateManager::Certificate", 0)
    assert balancer.scheme == "http" and balancer.redirect_listener is None


def test_access_logs_expire_and_are_kept_by_the_configured_policy():
    stack, _ = _bare(LoadBalancerConfig(allow_http_only=True, access_logs={"expiry_days": 9}))
    template = Template.from_stack(stack)
    bucket = next(iter(template.find_resources("AWS::S3::Bucket").values()))
    assert bucket["DeletionPolicy"] == "Retain"
    rule = bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert rule["ExpirationInDays"] == 9


def test_cloudfront_edge_internal_alb_admits_the_prefix_list_and_gets_a_distribution():
    config = LoadBalancerConfig(edge="cloudfront", idle_timeout_seconds=120)
    stack, balancer = _bare(config, prefix_list=PREFIX_LIST)
    edge = Edge(stack, load_balancer=config, alb=balancer.alb, comment="x: every path")
    template = Template.from_stack(stack)
    assert set(_listeners(template)) == {80}
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal"}
    )
    # A prefix-list source is its own ingress resource, and the only one.
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
    assert [
        (r["Properties"]["SourcePrefixListId"], r["Properties"]["FromPort"])
        for r in ingress.values()
    ] == [(PREFIX_LIST, 80)]
    dist = template.find_resources("AWS::CloudFront::Distribution")
    assert list(dist) == [stack.get_logical_id(edge.distribution.node.default_child)]
    config_ = next(iter(dist.values()))["Properties"]["DistributionConfig"]
    assert config_["Comment"] == "x: every path"
    assert config_["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config_["PriceClass"] == "PriceClass_100"
    # CloudFront's read timeout is capped at 60 s, whatever the ALB's idle timeout.
    template.has_resource_properties(
        "AWS::CloudFront::VpcOrigin",
        {"VpcOriginEndpointConfig": Match.object_like({"HTTPPort": 80})},
    )
    assert config_["Origins"][0]["VpcOriginConfig"]["OriginReadTimeout"] == 60
    template.resource_count_is("AWS::Route53::RecordSet", 0)


def test_cloudfront_with_a_domain_gets_its_certificate_and_a_and_aaaa_aliases():
    config = LoadBalancerConfig(
        edge="cloudfront",
        domain_name="app.example.com",
        hosted_zone_id="Z0123456789ABCDEFGHIJ",
        hosted_zone_name="example.com",
    )
    stack, balancer = _bare(config, prefix_list=PREFIX_LIST)
    Edge(stack, load_balancer=config, alb=balancer.alb, comment="c")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CertificateManager::Certificate", 1)
    types = sorted(
        r["Properties"]["Type"] for r in template.find_resources("AWS::Route53::RecordSet").values()
    )
    assert types == ["A", "AAAA"]
    dist = next(iter(template.find_resources("AWS::CloudFront::Distribution").values()))
    viewer = dist["Properties"]["DistributionConfig"]["ViewerCertificate"]
    assert viewer["MinimumProtocolVersion"] == "TLSv1.2_2021"
