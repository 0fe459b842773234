"""PlatformStack: what every service shares to serve traffic: the ECS cluster, the
internet-facing ALB with its listeners and certificate, and the bucket for its access logs."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import EnvironmentConfig
from fargate_env.stacks.common import removal_policy

HTTP_PORT = 80
HTTPS_PORT = 443
# What the listener answers when no service's rule matches and no service is the default.
NO_MATCH_BODY = "no service matches this host and path"


class PlatformStack(Stack):
    """ALB in the public subnets; HTTPS 443 + HTTP->HTTPS 301, or HTTP 80 only when allowed.

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
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        lb = config.load_balancer
        http_only = lb.certificate_mode == "http-only"

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
            description="Internet-facing ALB: HTTP and HTTPS from anywhere",
            allow_all_outbound=False,
        )
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
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
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
        scheme = "http" if http_only else "https"
        if http_only:
            self.listener = self.alb.add_listener(
                "Http",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_action=no_match,
                open=False,  # ingress is the security group's explicit rules above
            )
        else:
            certificate = self._certificate(config)
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
        self.base_url = f"{scheme}://{host}"
        CfnOutput(self, outputs.LOAD_BALANCER_DNS, value=self.alb.load_balancer_dns_name)
        CfnOutput(self, outputs.BASE_URL, value=self.base_url)
        CfnOutput(self, outputs.LISTENER_ARN, value=self.listener.listener_arn)
        CfnOutput(self, outputs.CLUSTER_NAME, value=self.cluster.cluster_name)

    def _certificate(self, config: EnvironmentConfig) -> acm.ICertificate:
        """Imported by ARN, or issued by ACM and validated in the configured zone (no lookups)."""
        lb = config.load_balancer
        if lb.certificate_mode == "imported":
            assert lb.certificate_arn is not None
            return acm.Certificate.from_certificate_arn(self, "Certificate", lb.certificate_arn)
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
        route53.ARecord(
            self,
            "AliasRecord",
            zone=zone,
            record_name=lb.domain_name,
            target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(self.alb)),
        )
        return certificate
