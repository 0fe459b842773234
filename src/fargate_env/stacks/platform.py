"""PlatformStack: what every service shares to serve traffic: the ECS cluster, the ALB with its
listeners and certificate, the bucket for its access logs and, with `load_balancer.edge =
"cloudfront"`, the CloudFront distribution that reaches the internal ALB through a VPC origin."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import EnvironmentConfig
from fargate_env.constructs.common import removal_policy

HTTP_PORT = 80
HTTPS_PORT = 443
# What the listener answers when no service's rule matches and no service is the default.
NO_MATCH_BODY = "no service matches this host and path"


class PlatformStack(Stack):
    """edge "alb": ALB in the public subnets; HTTPS 443 + HTTP->HTTPS 301, or HTTP 80 only when
    allowed. edge "cloudfront": internal ALB in the private subnets (no public IPv4) with one
    HTTP 80 listener that admits only CloudFront's origin-facing addresses; the distribution
    serves HTTPS (redirecting HTTP), caches nothing and forwards every viewer header, cookie
    and query string to it through a VPC origin. TLS ends at CloudFront; the hop to the ALB
    runs inside the VPC (CloudFront's VPC-origin interfaces sit in the private subnets), so
    the ALB needs no certificate and none for a name it cannot have (its internal DNS name).

    The listener's own default action is a fixed 404: every service, the default one included,
    adds its listener rules from its own stack, so this stack never changes when services come
    and go, and references only ever point from a service to the platform (no cycle).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        alb_subnets: ec2.SubnetSelection,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        lb = config.load_balancer
        edge = lb.is_cloudfront
        # Behind CloudFront the ALB speaks HTTP only, inside the VPC.
        http_only = edge or lb.certificate_mode == "http-only"
        self.distribution: cloudfront.Distribution | None = None

        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            enable_fargate_capacity_providers=True,
            container_insights_v2=(
                ecs.ContainerInsights.ENABLED
                if config.cluster.container_insights
                else ecs.ContainerInsights.DISABLED
            ),
        )
        if config.cluster.cloud_map_namespace:
            self.cluster.add_default_cloud_map_namespace(name=config.cluster.cloud_map_namespace)

        # Egress is opened per target group by each service (container port to its SG only).
        self.security_group = ec2.SecurityGroup(
            self,
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
            assert config.origin_prefix_list_id is not None
            self.security_group.add_ingress_rule(
                ec2.Peer.prefix_list(config.origin_prefix_list_id),
                ec2.Port.tcp(HTTP_PORT),
                "CloudFront VPC origin (origin-facing prefix list) to HTTP 80",
            )
        else:
            ports = [HTTP_PORT] if http_only else [HTTP_PORT, HTTPS_PORT]
            for port in ports:
                self.security_group.add_ingress_rule(
                    ec2.Peer.any_ipv4(), ec2.Port.tcp(port), f"public {port}"
                )

        self.access_log_bucket = s3.Bucket(
            self,
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
            self,
            "Alb",
            vpc=vpc,
            internet_facing=not edge,
            vpc_subnets=alb_subnets,
            security_group=self.security_group,
            drop_invalid_header_fields=True,
            idle_timeout=Duration.seconds(lb.idle_timeout_seconds),
            deletion_protection=lb.deletion_protection,
        )
        # Needs a concrete region on the stack: the bucket policy names the regional ELB account.
        self.alb.log_access_logs(self.access_log_bucket, prefix="alb")

        no_match = elbv2.ListenerAction.fixed_response(
            404, content_type="text/plain", message_body=NO_MATCH_BODY
        )
        scheme = "http" if http_only and not edge else "https"
        if http_only:
            self.listener = self.alb.add_listener(
                "Http",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_action=no_match,
                open=False,  # ingress is the security group's explicit rules above
            )
        else:
            certificate, zone = self._certificate(config)
            if zone is not None:
                self._alias(zone, config, route53_targets.LoadBalancerTarget(self.alb))
            self.listener = self.alb.add_listener(
                "Https",
                port=HTTPS_PORT,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                default_action=no_match,
                open=False,
            )
            # jsii's SslPolicy enum carries member names; the config holds the AWS policy name.
            cfn_listener = self.listener.node.default_child
            assert isinstance(cfn_listener, elbv2.CfnListener)
            cfn_listener.ssl_policy = lb.ssl_policy
            self.redirect_listener = self.alb.add_listener(
                "HttpRedirect",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_action=elbv2.ListenerAction.redirect(
                    protocol="HTTPS", port=str(HTTPS_PORT), permanent=True
                ),
                open=False,
            )

        host = lb.domain_name or self.alb.load_balancer_dns_name
        if edge:
            self.distribution = self._distribution(config)
            host = lb.domain_name or self.distribution.distribution_domain_name
            CfnOutput(
                self,
                outputs.DISTRIBUTION_DOMAIN,
                value=self.distribution.distribution_domain_name,
            )
            CfnOutput(self, outputs.DISTRIBUTION_ID, value=self.distribution.distribution_id)
        self.base_url = f"{scheme}://{host}"
        CfnOutput(self, outputs.LOAD_BALANCER_DNS, value=self.alb.load_balancer_dns_name)
        CfnOutput(self, outputs.BASE_URL, value=self.base_url)
        CfnOutput(self, outputs.LISTENER_ARN, value=self.listener.listener_arn)
        CfnOutput(self, outputs.CLUSTER_NAME, value=self.cluster.cluster_name)

    def _distribution(self, config: EnvironmentConfig) -> cloudfront.Distribution:
        """Every path to the internal ALB: no caching, every viewer header (Host included),
        cookie and query string forwarded, HTTP redirected to HTTPS."""
        lb = config.load_balancer
        origin = origins.VpcOrigin.with_application_load_balancer(
            self.alb,
            http_port=HTTP_PORT,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
            read_timeout=Duration.seconds(min(lb.idle_timeout_seconds, 60)),
        )
        certificate, zone, names = None, None, None
        if lb.domain_name:
            certificate, zone = self._certificate(config)
            names = [lb.domain_name]
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{config.name}: every path to the internal ALB, uncached",
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
            self._alias(zone, config, route53_targets.CloudFrontTarget(distribution), ipv6=True)
        return distribution

    def _alias(
        self,
        zone: route53.IHostedZone,
        config: EnvironmentConfig,
        target: route53.IAliasRecordTarget,
        *,
        ipv6: bool = False,
    ) -> None:
        """domain_name -> the edge (ALB or distribution) in the configured zone."""
        name = config.load_balancer.domain_name
        record = route53.RecordTarget.from_alias(target)
        route53.ARecord(self, "AliasRecord", zone=zone, record_name=name, target=record)
        if ipv6:
            route53.AaaaRecord(self, "AliasRecordIpv6", zone=zone, record_name=name, target=record)

    def _certificate(
        self, config: EnvironmentConfig
    ) -> tuple[acm.ICertificate, route53.IHostedZone | None]:
        """Imported by ARN (no zone), or issued by ACM and validated in the configured zone (no
        lookups); with edge "cloudfront" both are in us-east-1 (the config enforces it)."""
        lb = config.load_balancer
        if lb.certificate_mode == "imported":
            assert lb.certificate_arn is not None
            return acm.Certificate.from_certificate_arn(
                self, "Certificate", lb.certificate_arn
            ), None
        assert lb.domain_name and lb.hosted_zone_id and lb.hosted_zone_name
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=lb.hosted_zone_id, zone_name=lb.hosted_zone_name
        )
        certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=lb.domain_name,
            validation=acm.CertificateValidation.from_dns(zone),
        )
        return certificate, zone
