"""LoadBalancer: the ALB, its security group, access-log bucket, listeners and certificate.

Built in the scope it is given, under the ids the platform stack always used: see
constructs/__init__.py for why it is not a child construct.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from fargate_env.config import LoadBalancerConfig
from fargate_env.constructs.common import removal_policy

HTTP_PORT = 80
HTTPS_PORT = 443
# What the listener answers when no service's rule matches and no service is the default.
NO_MATCH_BODY = "no service matches this host and path"


class LoadBalancer:
    """edge "alb": ALB in the public subnets; HTTPS 443 + HTTP->HTTPS 301, or HTTP 80 only when
    allowed. edge "cloudfront": internal ALB (no public IPv4) with one HTTP 80 listener that
    admits only CloudFront's origin-facing addresses (`origin_prefix_list_id`); TLS ends at
    CloudFront, so the ALB needs no certificate. The listener's default action is a fixed 404:
    every service adds its own rules from its own stack."""

    def __init__(
        self,
        scope: Construct,
        *,
        load_balancer: LoadBalancerConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        origin_prefix_list_id: str | None,
    ) -> None:
        lb = load_balancer
        edge = lb.is_cloudfront
        # Behind CloudFront the ALB speaks HTTP only, inside the VPC.
        self.http_only = edge or lb.certificate_mode == "http-only"
        self.scheme = "http" if self.http_only and not edge else "https"
        self.security_group = _security_group(scope, vpc, edge, self.http_only,
                                              origin_prefix_list_id)  # fmt: skip
        self.access_log_bucket = s3.Bucket(
            scope,
            "AccessLogs",
            # SSE-S3: ALB log delivery cannot write to SSE-KMS buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(lb.access_logs.expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal_policy(lb.access_logs.removal_policy),
        )
        self.alb = elbv2.ApplicationLoadBalancer(
            scope,
            "Alb",
            vpc=vpc,
            internet_facing=not edge,
            vpc_subnets=subnets,
            security_group=self.security_group,
            drop_invalid_header_fields=True,
            idle_timeout=Duration.seconds(lb.idle_timeout_seconds),
            deletion_protection=lb.deletion_protection,
        )
        # Needs a concrete region on the stack: the bucket policy names the regional ELB account.
        self.alb.log_access_logs(self.access_log_bucket, prefix="alb")
        self.redirect_listener: elbv2.ApplicationListener | None = None
        if self.http_only:
            self.listener = self._listener("Http", HTTP_PORT, elbv2.ApplicationProtocol.HTTP)
        else:
            self._https(scope, lb)

    def _listener(self, name, port, protocol, **kwargs) -> elbv2.ApplicationListener:
        return self.alb.add_listener(
            name,
            port=port,
            protocol=protocol,
            default_action=kwargs.pop("default_action", None)
            or elbv2.ListenerAction.fixed_response(
                404, content_type="text/plain", message_body=NO_MATCH_BODY
            ),
            open=False,  # ingress is the security group's explicit rules
            **kwargs,
        )

    def _https(self, scope: Construct, lb: LoadBalancerConfig) -> None:
        certificate, zone = certificate_for(scope, lb)
        if zone is not None:
            alias(scope, zone, lb.domain_name, route53_targets.LoadBalancerTarget(self.alb))
        self.listener = self._listener(
            "Https",
            HTTPS_PORT,
            elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
        )
        # jsii's SslPolicy enum carries member names; the config holds the AWS policy name.
        cfn_listener = self.listener.node.default_child
        assert isinstance(cfn_listener, elbv2.CfnListener)
        cfn_listener.ssl_policy = lb.ssl_policy
        self.redirect_listener = self._listener(
            "HttpRedirect",
            HTTP_PORT,
            elbv2.ApplicationProtocol.HTTP,
            default_action=elbv2.ListenerAction.redirect(
                protocol="HTTPS", port=str(HTTPS_PORT), permanent=True
            ),
        )


def _security_group(
    scope: Construct, vpc: ec2.IVpc, edge: bool, http_only: bool, prefix_list: str | None
) -> ec2.SecurityGroup:
    # Egress is opened per target group by each service (container port to its SG only).
    group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=(
            "Internal ALB: HTTP from CloudFront VPC origins only (origin-facing prefix list)"
            if edge
            else "Internet-facing ALB: HTTP and HTTPS from anywhere"
        ),
        allow_all_outbound=False,
    )
    if edge:
        # CloudFront's VPC origin reaches the ALB from addresses in the origin-facing
        # managed prefix list (CDK aws-cloudfront-origins README, "Restrict traffic coming
        # to the VPC origin"). Its other documented source, the service-managed security
        # group CloudFront-VPCOrigins-Service-SG, exists only after the first VPC origin is
        # created and CloudFormation cannot name it (a lookup Lambda would be needed).
        # The list weighs ~55 rules of the 60-rule quota: one port only.
        assert prefix_list is not None
        group.add_ingress_rule(
            ec2.Peer.prefix_list(prefix_list),
            ec2.Port.tcp(HTTP_PORT),
            "CloudFront VPC origin (origin-facing prefix list) to HTTP 80",
        )
        return group
    for port in [HTTP_PORT] if http_only else [HTTP_PORT, HTTPS_PORT]:
        group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(port), f"public {port}")
    return group


def certificate_for(
    scope: Construct, lb: LoadBalancerConfig
) -> tuple[acm.ICertificate, route53.IHostedZone | None]:
    """Imported by ARN (no zone), or issued by ACM and validated in the configured zone (no
    lookups); with edge "cloudfront" both are in us-east-1 (the config enforces it)."""
    if lb.certificate_mode == "imported":
        assert lb.certificate_arn is not None
        return acm.Certificate.from_certificate_arn(scope, "Certificate", lb.certificate_arn), None
    assert lb.domain_name and lb.hosted_zone_id and lb.hosted_zone_name
    zone = route53.HostedZone.from_hosted_zone_attributes(
        scope, "Zone", hosted_zone_id=lb.hosted_zone_id, zone_name=lb.hosted_zone_name
    )
    certificate = acm.Certificate(
        scope,
        "Certificate",
        domain_name=lb.domain_name,
        validation=acm.CertificateValidation.from_dns(zone),
    )
    return certificate, zone


def alias(
    scope: Construct,
    zone: route53.IHostedZone,
    name: str | None,
    target: route53.IAliasRecordTarget,
    *,
    ipv6: bool = False,
) -> None:
    """domain_name -> the edge (ALB or distribution) in the configured zone."""
    record = route53.RecordTarget.from_alias(target)
    route53.ARecord(scope, "AliasRecord", zone=zone, record_name=name, target=record)
    if ipv6:
        route53.AaaaRecord(scope, "AliasRecordIpv6", zone=zone, record_name=name, target=record)
