"""InternalService: a long-running service with no load balancer: a backend (reached by name
through Service Connect) or a worker (no port; scaled on CPU and, with a queue, its depth)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from fargate_env.config import ServiceConfig
from fargate_env.constructs.service_task import (
    PLATFORM_VERSIONS,
    PORT_NAME,
    ServiceTask,
    capacity,
    join_environment_tasks,
    task_security_group,
)
from fargate_env.constructs.task_count import task_count

# What a queue worker needs of its one queue, and nothing more.
QUEUE_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)


class InternalService(Construct):
    """Fargate (Spot by default) tasks no load balancer reaches.

    `environment_tasks`: the environment's task security group, given when the environment has
    a backend. The tasks join it and become Service Connect clients (http://NAME:PORT); a
    backend admits that group, and only it, on its port.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        service: ServiceConfig,
        cluster: ecs.ICluster,
        subnets: ec2.SubnetSelection,
        assign_public_ip: bool,
        repository: ecr.IRepository | None,
        environment_tasks: ec2.ISecurityGroup | None,
        period_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        assert service.kind in ("backend", "worker"), service.kind
        assert service.kind != "backend" or environment_tasks is not None
        self.config = service
        task = ServiceTask(self, "Default", name=name, service=service, repository=repository)
        self.log_group, self.container = task.log_group, task.container
        self.task_definition = task.task_definition

        self.security_group = task_security_group(
            self,
            cluster.vpc,
            (
                f"{name} tasks: the environment tasks on the container port in, HTTPS out"
                if service.kind == "backend"
                else f"{name} tasks: nothing in, HTTPS out"
            ),
        )
        if service.kind == "backend":
            assert environment_tasks is not None
            # Ingress here and the environment group's egress to it, both in this stack.
            self.security_group.connections.allow_from(
                environment_tasks,
                ec2.Port.tcp(service.container_port),
                f"the environment tasks to {name}",
            )

        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=service.scaling.min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            # Rolling only (the config refuses the traffic-shifting strategies): it fails a
            # deployment whose tasks never start or turn healthy, and rolls it back.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            vpc_subnets=subnets,
            assign_public_ip=assign_public_ip,
            security_groups=[self.security_group],
            capacity_provider_strategies=capacity(service),
            platform_version=PLATFORM_VERSIONS[service.platform_version],
            enable_execute_command=service.enable_exec,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            service_connect_configuration=(
                self._service_connect(name, service) if environment_tasks is not None else None
            ),
        )
        if environment_tasks is not None:
            join_environment_tasks(self.service, self.security_group, environment_tasks)
        self.queue_depth: cloudwatch.Metric | None = None
        self.queue_age: cloudwatch.Metric | None = None
        if service.queue is not None:
            self._queue(service.queue, period_seconds)
        self.scaling = task_count(self.service, service, queue_depth=self.queue_depth)

    @staticmethod
    def _service_connect(name: str, svc: ServiceConfig) -> ecs.ServiceConnectProps:
        """A backend publishes its port as NAME:PORT; every other service is a client only."""
        if svc.kind != "backend":
            return ecs.ServiceConnectProps()
        return ecs.ServiceConnectProps(
            services=[
                ecs.ServiceConnectService(
                    port_mapping_name=PORT_NAME,
                    discovery_name=name,
                    dns_name=name,
                    port=svc.container_port,
                )
            ]
        )

    def _queue(self, queue: str, period_seconds: int) -> None:
        """The task role reads exactly this queue; its depth and age feed scaling and alarms."""
        arn = Stack.of(self).format_arn(service="sqs", resource=queue)
        self.task_definition.add_to_task_role_policy(
            iam.PolicyStatement(actions=list(QUEUE_ACTIONS), resources=[arn])
        )
        period = Duration.seconds(period_seconds)

        def metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SQS",
                metric_name=name,
                dimensions_map={"QueueName": queue},
                statistic="Maximum",
                period=period,
            )

        self.queue_depth = metric("ApproximateNumberOfMessagesVisible")
        self.queue_age = metric("ApproximateAgeOfOldestMessage")
