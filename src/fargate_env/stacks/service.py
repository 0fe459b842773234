"""ServiceStack: one service of the environment, in its own stack, so deploying one service
never touches another and no stack nears CloudFormation's 500-resource limit."""

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
from fargate_env.constructs.rollback_alarms import RollbackAlarms
from fargate_env.constructs.service_alarms import ServiceAlarms
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
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.web = WebService(
            self,
            "Web",
            name=name,
            service=service,
            cluster=cluster,
            subnets=subnets,
            assign_public_ip=assign_public_ip,
            repository=repository,
            listener=listener,
            routes=routes,
            keep_alive_seconds=idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS,
            test_route=test_route,
        )
        self._alarms(environment, name, service, thresholds, container_insights, topic_arn)
        add_service_outputs(self, self.web)
        CfnOutput(self, outputs.TASK_ROLE_ARN, value=self.web.task_definition.task_role.role_arn)

    def _alarms(
        self,
        environment: str,
        name: str,
        service: ServiceConfig,
        thresholds: ThresholdsConfig,
        container_insights: bool,
        topic_arn: str,
    ) -> None:
        """The rollback alarms, the service's own alarms to the topic, and the deployment
        alarms that roll a deploy back."""
        self.rollback = RollbackAlarms(
            self,
            "Rollback",
            label=f"{environment}-{name}",
            target_groups=self.web.target_groups,
            deployment=service.deployment,
            period_seconds=thresholds.period_seconds,
        )
        # By ARN, not the Topic object: the topic's own policy already admits this account's
        # event rules, so nothing is written back into the alerts stack.
        topic = sns.Topic.from_topic_arn(self, "AlarmTopic", topic_arn)
        self.alarms = ServiceAlarms(
            self,
            "Alarms",
            label=f"{environment}-{name}",
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
            [*self.rollback.alarm_names, self.alarms.unhealthy.alarm_name],
            behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
        )


def add_service_outputs(stack: Stack, web: WebService) -> None:
    """The outputs every stack running a WebService gives: `status`, `logs` and the deploy
    commands read them."""
    CfnOutput(stack, outputs.SERVICE_NAME, value=web.service.service_name)
    CfnOutput(stack, outputs.TARGET_GROUP_ARN, value=web.target_group.target_group_arn)
    CfnOutput(stack, outputs.LOG_GROUP_NAME, value=web.log_group.log_group_name)
