"""Preview stacks: the environment's shared part of previews, and one stack per preview.

PreviewsStack ("<env>-previews", only with load_balancer.preview_domain): the wildcard
certificate for *.<preview_domain> (DNS-validated in its zone) added to the shared HTTPS
listener (none in an HTTP-only environment), and the wildcard alias record to the ALB.
Created once, whatever number of previews.

PreviewStack ("<env>-preview-<name>"): one more copy of a service (WebService on a sized-down
ServiceConfig) behind a host-header rule, and its expiry (constructs/preview_expiry.py): a
one-time schedule that deletes this very stack.

app.py reads the environment config and hands each stack its part.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from constructs import Construct

from fargate_env.config import Route, ServiceConfig
from fargate_env.constructs.preview_expiry import PreviewExpiry
from fargate_env.constructs.web_service import WebService
from fargate_env.preview_spec import Preview
from fargate_env.stacks.service import KEEP_ALIVE_MARGIN_SECONDS, add_service_outputs

# The construct id of the scalable target ECS's auto_scale_task_count() creates.
TASK_COUNT_ID = "TaskCount"
# Output keys of a preview stack.
PREVIEW_URL = "PreviewUrl"
SCHEDULE_NAME = "ScheduleName"


class PreviewsStack(Stack):
    """The wildcard certificate on the shared listener (`https` only) and the wildcard DNS
    record to the ALB, in the preview zone."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        preview_domain: str,
        hosted_zone_id: str,
        hosted_zone_name: str,
        https: bool,
        alb: elbv2.IApplicationLoadBalancer,
        listener: elbv2.IApplicationListener,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=hosted_zone_id, zone_name=hosted_zone_name
        )
        wildcard = f"*.{preview_domain}"
        self.certificate: acm.Certificate | None = None
        if https:
            self.certificate = acm.Certificate(
                self,
                "Certificate",
                domain_name=wildcard,
                validation=acm.CertificateValidation.from_dns(zone),
            )
            # An extra certificate on the listener: the ALB picks it by SNI for preview hosts.
            elbv2.ApplicationListenerCertificate(
                self,
                "ListenerCertificate",
                listener=listener,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(self.certificate)],
            )
        route53.ARecord(
            self,
            "WildcardRecord",
            zone=zone,
            record_name=wildcard,
            target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(alb)),
        )


class PreviewStack(Stack):
    """`service`: the service's config sized down for a preview; `route`: its host rule;
    `url`: where it answers. Its schedule is named after the stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        preview: Preview,
        service: ServiceConfig,
        route: Route,
        url: str,
        idle_timeout_seconds: int,
        cluster: ecs.ICluster,
        subnets: ec2.SubnetSelection,
        assign_public_ip: bool,
        repository: ecr.IRepository | None,
        listener: elbv2.IApplicationListener,
        environment_tasks: ec2.ISecurityGroup | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.preview = preview
        self.web = WebService(
            self,
            "Web",
            # Its own log stream prefix, SERVICE_NAME and security-group description.
            name=f"preview-{preview.name}",
            service=service,
            cluster=cluster,
            subnets=subnets,
            assign_public_ip=assign_public_ip,
            repository=repository,
            listener=listener,
            routes=[route],
            keep_alive_seconds=idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS,
            # With a backend in the environment the copy reaches it by name, as the original.
            environment_tasks=environment_tasks,
        )
        # Exactly one task: no scalable target, so no target-tracking policy and none of the
        # two CloudWatch alarms it keeps ($0.20/month each preview would pay for nothing).
        self.web.service.node.try_remove_child(TASK_COUNT_ID)
        self.schedule = PreviewExpiry(
            self, schedule_name=self.stack_name, at_expression=preview.at_expression
        ).schedule
        for key, value in preview.tags().items():
            Tags.of(self).add(key, value)
            self.tags.set_tag(key, value)  # the stack's own tags: what `preview list` reads
        CfnOutput(self, PREVIEW_URL, value=url)
        add_service_outputs(self, self.web)
        CfnOutput(self, SCHEDULE_NAME, value=self.schedule.ref)
