"""Preview stacks: the environment's shared part of previews, and one stack per preview.

PreviewsStack ("<env>-previews", only with load_balancer.preview_domain): the wildcard
certificate for *.<preview_domain> (DNS-validated in its zone) added to the shared HTTPS
listener (none in an HTTP-only environment), and the wildcard alias record to the ALB.
Created once, whatever number of previews.

PreviewStack ("<env>-preview-<name>"): one more copy of a service (WebService on a sized-down
ServiceConfig) behind a host-header rule, and an EventBridge Scheduler one-time schedule that
deletes this very stack when the preview expires. No Lambda: the schedule calls CloudFormation's
DeleteStack through Scheduler's universal target, with a role that may delete this stack and
nothing else.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, DefaultStackSynthesizer, Fn, Stack, Tags
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from fargate_env import outputs
from fargate_env import preview as previews
from fargate_env.config import EnvironmentConfig
from fargate_env.constructs.web_service import WebService
from fargate_env.stacks.service import KEEP_ALIVE_MARGIN_SECONDS

# EventBridge Scheduler's universal target for CloudFormation DeleteStack.
DELETE_STACK_TARGET = "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"
SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
# The construct id of the scalable target ECS's auto_scale_task_count() creates.
TASK_COUNT_ID = "TaskCount"
# Output keys of a preview stack.
PREVIEW_URL = "PreviewUrl"
SCHEDULE_NAME = "ScheduleName"


class PreviewsStack(Stack):
    """The wildcard certificate on the shared listener and the wildcard DNS record."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        alb: elbv2.IApplicationLoadBalancer,
        listener: elbv2.IApplicationListener,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        lb = config.load_balancer
        assert lb.preview_domain and lb.preview_hosted_zone_id and lb.preview_hosted_zone_name
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=lb.preview_hosted_zone_id,
            zone_name=lb.preview_hosted_zone_name,
        )  # fmt: skip
        wildcard = f"*.{lb.preview_domain}"
        self.certificate: acm.Certificate | None = None
        if lb.certificate_mode != "http-only":
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
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        preview: previews.Preview,
        cluster: ecs.ICluster,
        subnets: ec2.SubnetSelection,
        assign_public_ip: bool,
        repository: ecr.IRepository | None,
        listener: elbv2.IApplicationListener,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.preview = preview
        self.web = WebService(
            self,
            "Web",
            # Its own log stream prefix, SERVICE_NAME and security-group description.
            name=f"preview-{preview.name}",
            service=previews.service_config(config, preview),
            cluster=cluster,
            subnets=subnets,
            assign_public_ip=assign_public_ip,
            repository=repository,
            listener=listener,
            routes=[previews.route(config, preview)],
            keep_alive_seconds=config.load_balancer.idle_timeout_seconds
            + KEEP_ALIVE_MARGIN_SECONDS,
        )
        # Exactly one task: no scalable target, so no target-tracking policy and none of the
        # two CloudWatch alarms it keeps ($0.20/month each preview would pay for nothing).
        self.web.service.node.try_remove_child(TASK_COUNT_ID)
        self.schedule = self._expiry(config.preview_stack_name(preview.name))
        for key, value in preview.tags().items():
            Tags.of(self).add(key, value)
            self.tags.set_tag(key, value)  # the stack's own tags: what `preview list` reads
        scheme = "http" if config.load_balancer.certificate_mode == "http-only" else "https"
        CfnOutput(self, PREVIEW_URL, value=f"{scheme}://{previews.host(config, preview.name)}")
        CfnOutput(self, outputs.SERVICE_NAME, value=self.web.service.service_name)
        CfnOutput(self, outputs.TARGET_GROUP_ARN, value=self.web.target_group.target_group_arn)
        CfnOutput(self, outputs.LOG_GROUP_NAME, value=self.web.log_group.log_group_name)
        CfnOutput(self, SCHEDULE_NAME, value=self.schedule.ref)

    def _expiry(self, schedule_name: str) -> scheduler.CfnSchedule:
        """A one-time schedule at the expiry that calls DeleteStack on this stack; the stack's
        deletion removes the schedule with everything else."""
        role = iam.Role(
            self,
            "ExpiryRole",
            description=f"{schedule_name}: EventBridge Scheduler deletes this one stack",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_PRINCIPAL,
                # Only this account's schedule of this name may use the role.
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnEquals": {
                        "aws:SourceArn": self.format_arn(
                            service="scheduler",
                            resource="schedule",
                            resource_name=f"default/{schedule_name}",
                        )
                    },
                },
            ),
        )
        statements = [
            iam.PolicyStatement(
                sid="DeleteThisStackOnly",
                actions=["cloudformation:DeleteStack"],
                resources=[self.stack_id],
            )
        ]
        synthesizer = self.synthesizer
        if isinstance(synthesizer, DefaultStackSynthesizer):
            # CloudFormation deletes with the role the stack was deployed with (CDK's bootstrap
            # execution role): the caller must be allowed to pass it, to CloudFormation only.
            statements.append(
                iam.PolicyStatement(
                    sid="PassTheDeployRoleToCloudFormation",
                    actions=["iam:PassRole"],
                    resources=[Fn.sub(synthesizer.cloud_formation_execution_role_arn)],
                    conditions={
                        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                    },
                )
            )
        policy = iam.Policy(self, "ExpiryPolicy", statements=statements)
        policy.attach_to_role(role)
        schedule = scheduler.CfnSchedule(
            self,
            "Expiry",
            name=schedule_name,
            description=f"deletes stack {schedule_name} when the preview expires",
            schedule_expression=self.preview.at_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=DELETE_STACK_TARGET,
                role_arn=role.role_arn,
                input=self.to_json_string({"StackName": self.stack_id}),
            ),
        )
        # No ActionAfterCompletion: CloudFormation's AWS::Scheduler::Schedule does not accept it
        # (the API does; CDK's CfnSchedule and cfn-lint's schema have no such property, see
        # aws/aws-cdk#27455), and it is not needed: deleting the stack deletes the schedule.
        # The role must be able to act by the time the schedule can fire.
        schedule.node.add_dependency(policy)
        return schedule


def add_previews(
    app: Construct,
    *,
    config: EnvironmentConfig,
    env,
    network,
    registry,
    platform,
    previews_to_build: list[previews.Preview],
) -> tuple[PreviewsStack | None, dict[str, PreviewStack]]:
    """The shared previews stack (when previews are on) and one stack per preview asked for."""
    if not config.load_balancer.preview_domain:
        return None, {}
    shared = PreviewsStack(
        app,
        config.stack_name(outputs.PREVIEWS),
        env=env,
        config=config,
        alb=platform.alb,
        listener=platform.listener,
    )
    built = {}
    for preview in previews_to_build:
        stack = PreviewStack(
            app,
            config.preview_stack_name(preview.name),
            env=env,
            config=config,
            preview=preview,
            cluster=platform.cluster,
            subnets=network.task_subnets,
            assign_public_ip=network.tasks_need_public_ip,
            repository=registry.repositories.get(preview.service),
            listener=platform.listener,
        )
        # Its host name and certificate come from the shared previews stack.
        stack.add_stack_dependency(shared)
        built[preview.name] = stack
    return shared, built
