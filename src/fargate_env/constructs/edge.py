"""Edge: the CloudFront distribution that reaches an internal ALB through a VPC origin.

Built in the scope it is given, under the ids the platform stack always used: see
constructs/__init__.py for why it is not a child construct.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53_targets as route53_targets
from constructs import Construct

from fargate_env.config import LoadBalancerConfig
from fargate_env.constructs.load_balancer import HTTP_PORT, alias, certificate_for

# CloudFront's longest origin read timeout without a quota increase.
MAX_READ_TIMEOUT_SECONDS = 60


class Edge:
    """Every path to the internal ALB: no caching, every viewer header (Host included), cookie
    and query string forwarded, HTTP redirected to HTTPS. TLS ends here; the hop to the ALB
    runs inside the VPC. With a domain_name: its certificate and A + AAAA alias records."""

    def __init__(
        self,
        scope: Construct,
        *,
        load_balancer: LoadBalancerConfig,
        alb: elbv2.IApplicationLoadBalancer,
        comment: str,
    ) -> None:
        lb = load_balancer
        origin = origins.VpcOrigin.with_application_load_balancer(
            alb,
            http_port=HTTP_PORT,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
            read_timeout=Duration.seconds(min(lb.idle_timeout_seconds, MAX_READ_TIMEOUT_SECONDS)),
        )
        certificate, zone, names = None, None, None
        if lb.domain_name:
            certificate, zone = certificate_for(scope, lb)
            names = [lb.domain_name]
        self.distribution = cloudfront.Distribution(
            scope,
            "Distribution",
            comment=comment,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER,
                compress=False,
            ),
            # jsii enums carry member names; the config holds CloudFront's name.
            price_class=getattr(
                cloudfront.PriceClass, lb.cloudfront.price_class.upper().replace("CLASS", "_CLASS")
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            domain_names=names,
            certificate=certificate,
            # Applies with a certificate of ours; the default *.cloudfront.net certificate
            # cannot be given a minimum (compliance.py waives AwsSolutions-CFR4 for it).
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None
            ),
        )
        if zone is not None:
            # The distribution answers on IPv6 too (CDK enables it by default): A and AAAA.
            target = route53_targets.CloudFrontTarget(self.distribution)
            alias(scope, zone, lb.domain_name, target, ipv6=True)
