"""ServiceStack: one service of the environment, in its own stack, so deploying one service
never touches another and no stack nears CloudFormation's 500-resource limit.

By kind: a web service behind the ALB (WebService), a backend or a worker with no load
balancer (InternalService), or a scheduled job with no ECS service at all (ScheduledJob)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import Route, ServiceConfig, ThresholdsConfig
from fargate_env.constructs.internal_service import InternalService
from fargate_env.constructs.rollback_alarms import RollbackAlarms
from fargate_env.constructs.scheduled_job import ScheduledJob
from fargate_env.constructs.service_alarms import ServiceAlarms
from fargate_env.constructs.task_alarms import TaskAlarms
from fargate_env.constructs.web_service import WebService

# Targets keep idle connections this much longer than the ALB does.
KEEP_ALIVE_MARGIN_SECONDS = 5


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        name: str,
        service: ServiceConfig,
        routes: list[Route],
        test_route: Route | None,
        idle_timeout_seconds: int,
        thresholds: ThresholdsConfig,
        container_insights: bool,
        cluster: ecs.ICluster,
        subnets: ec2.SubnetSelection,
        assign_public_ip: bool,
        repository: ecr.IRepository | None,
        listener: elbv2.IApplicationListener,
        topic_arn: str,
        environment_tasks: ec2.ISecurityGroup | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        label = f"{environment}-{name}"
        # By ARN, not the Topic object: the topic's own policy already admits this account's
        # event rules, so nothing is written back into the alerts stack.
        topic = sns.Topic.from_topic_arn(self, "AlarmTopic", topic_arn)
        place = {"cluster": cluster, "subnets": subnets, "assign_public_ip": assign_public_ip,
                 "repository": repository}  # fmt: skip
        self.web: WebService | None = None
        self.internal: InternalService | None = None
        self.job: ScheduledJob | None = None
        self.alarms: ServiceAlarms | TaskAlarms | ScheduledJob
        if service.kind == "job":
            self.job = ScheduledJob(self, "Job", label=label, name=name, service=service,
                                    topic=topic, thresholds=thresholds, **place)  # fmt: skip
            self.alarms = self.job
            self._job_outputs(self.job)
            task_definition = self.job.task_definition
        elif service.kind in ("backend", "worker"):
            task_definition = self._internal(
                label, name, service, thresholds, container_insights, topic, environment_tasks,
                place,
            )  # fmt: skip
        else:
            self.web = WebService(
                self, "Web", name=name, service=service, listener=listener, routes=routes,
                keep_alive_seconds=idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS,
                test_route=test_route, environment_tasks=environment_tasks, **place,
            )  # fmt: skip
            self.alarms = self._alarms(label, service, thresholds, container_insights, topic)
            add_service_outputs(self, self.web)
            task_definition = self.web.task_definition
        CfnOutput(self, outputs.TASK_ROLE_ARN, value=task_definition.task_role.role_arn)

    def _internal(
        self,
        label: str,
        name: str,
        service: ServiceConfig,
        thresholds: ThresholdsConfig,
        container_insights: bool,
        topic: sns.ITopic,
        environment_tasks: ec2.ISecurityGroup | None,
        place: dict,
    ) -> ecs.TaskDefinition:
        """A backend or a worker, its alarms and its outputs."""
        self.internal = InternalService(
            self, "Service", name=name, service=service, environment_tasks=environment_tasks,
            period_seconds=thresholds.period_seconds, **place,
        )  # fmt: skip
        self.alarms = TaskAlarms(
            self, "Alarms", label=label, service=self.internal.service, topic=topic,
            thresholds=thresholds, scaling=service.scaling,
            container_insights=container_insights, queue_age=self.internal.queue_age,
        )  # fmt: skip
        CfnOutput(self, outputs.SERVICE_NAME, value=self.internal.service.service_name)
        CfnOutput(self, outputs.LOG_GROUP_NAME, value=self.internal.log_group.log_group_name)
        return self.internal.task_definition

    def _job_outputs(self, job: ScheduledJob) -> None:
        """What `run-job` hands RunTask (the cluster is the platform's ClusterName)."""
        for key, value in (
            (outputs.TASK_DEFINITION_ARN, job.task_definition.task_definition_arn),
            (outputs.TASK_SUBNETS, job.subnet_ids),
            (outputs.TASK_SECURITY_GROUP, job.security_group.security_group_id),
            (outputs.ASSIGN_PUBLIC_IP, "ENABLED" if job.assign_public_ip else "DISABLED"),
            (outputs.CAPACITY_PROVIDER, job.capacity_provider),
            (outputs.SCHEDULE_NAME, job.schedule_name),
            (outputs.STATE_MACHINE_ARN, job.state_machine.state_machine_arn),
            (outputs.LOG_GROUP_NAME, job.log_group.log_group_name),
        ):
            CfnOutput(self, key, value=value)

    def _alarms(
        self,
        label: str,
        service: ServiceConfig,
        thresholds: ThresholdsConfig,
        container_insights: bool,
        topic: sns.ITopic,
    ) -> ServiceAlarms:
        """A web service's rollback alarms, its own alarms to the topic, and the deployment
        alarms that roll a deploy back."""
        assert self.web is not None
        self.rollback = RollbackAlarms(
            self,
            "Rollback",
            label=label,
            target_groups=self.web.target_groups,
            deployment=service.deployment,
            period_seconds=thresholds.period_seconds,
        )
        alarms = ServiceAlarms(
            self,
            "Alarms",
            label=label,
            service=self.web.service,
            target_group=self.web.target_group,
            topic=topic,
            thresholds=thresholds,
            scaling=service.scaling,
            scales_to_zero=service.scales_to_zero,
            container_insights=container_insights,
            alternate_target_group=self.web.alternate_target_group,
        )
        # Every strategy, rolling included, rolls back on the 5xx rate and on unhealthy
        # targets (enable + rollback); the circuit breaker stays on as well.
        self.web.service.enable_deployment_alarms(
            [*self.rollback.alarm_names, alarms.unhealthy.alarm_name],
            behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
        )
        return alarms


def add_service_outputs(stack: Stack, web: WebService) -> None:
    """The outputs every stack running a WebService gives: `status`, `logs` and the deploy
    commands read them."""
    CfnOutput(stack, outputs.SERVICE_NAME, value=web.service.service_name)
    CfnOutput(stack, outputs.TARGET_GROUP_ARN, value=web.target_group.target_group_arn)
    CfnOutput(stack, outputs.LOG_GROUP_NAME, value=web.log_group.log_group_name)
