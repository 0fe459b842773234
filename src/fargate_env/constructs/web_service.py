"""WebService: a web service's Fargate service, target group(s), listener rule(s), scaling and
schedule, on a cluster and listener it is handed; its task is a ServiceTask like every kind's."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from fargate_env.config import Route, ServiceConfig
from fargate_env.config.deployment import ECS_STRATEGY
from fargate_env.constructs.service_task import (
    CONTAINER_NAME,
    PLATFORM_VERSIONS,
    ServiceTask,
    capacity,
    join_environment_tasks,
    task_security_group,
)
from fargate_env.constructs.task_count import task_count

# What AmazonECSInfrastructureRolePolicyForLoadBalancers lets ECS read (on "*": these actions
# take no resource-level permissions).
DEPLOY_ROLE_DESCRIBE = (
    "DescribeListeners",
    "DescribeRules",
    "DescribeTargetGroups",
    "DescribeTargetHealth",
)


class WebService(Construct):
    """Fargate (Spot by default) tasks admitted only from the ALB, behind one listener rule.

    Receives only what it uses: one service's config, the cluster and subnets it runs in, the
    repository it pulls from, and the listener it routes from. The target group is attached from
    here, so both security-group rules land beside the service, never in the ALB's stack.
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
        listener: elbv2.IApplicationListener,
        routes: list[Route],
        keep_alive_seconds: int,
        test_route: Route | None = None,
        environment_tasks: ec2.ISecurityGroup | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = service
        self._vpc = cluster.vpc

        # "Default": the logical-id hashing skips it, so the task's ids stay as deployed.
        task = ServiceTask(self, "Default", name=name, service=service, repository=repository,
                           keep_alive_seconds=keep_alive_seconds)  # fmt: skip
        self.log_group, self.container = task.log_group, task.container
        self.task_definition = task.task_definition

        self.security_group = task_security_group(
            self, cluster.vpc, f"{name} tasks: the ALB on the container port in, HTTPS out"
        )

        dep = service.deployment
        self.target_group = self._target_group("TargetGroup", service)
        # Traffic-shifting strategies start the new revision in the other target group and
        # move the production rule's weights to it; the two swap roles every deployment.
        self.alternate_target_group = (
            self._target_group("AlternateTargetGroup", service) if dep.shifts_traffic else None
        )
        self.target_groups = [self.target_group]
        if self.alternate_target_group is not None:
            self.target_groups.append(self.alternate_target_group)
        self.rules = [
            elbv2.ApplicationListenerRule(
                self,
                "CatchAll" if route.catch_all else "Rule",
                listener=listener,
                priority=route.priority,
                conditions=_conditions(route),
                action=self._forward(),
            )
            for route in routes
        ]
        self.test_rule = (
            elbv2.ApplicationListenerRule(
                self,
                "TestRule",
                listener=listener,
                priority=test_route.priority,
                conditions=_conditions(test_route),
                action=self._forward(),
            )
            if test_route is not None
            else None
        )

        strategy = ecs.DeploymentStrategy[ECS_STRATEGY[dep.strategy]]
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=service.scaling.min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            # Kept with every strategy: it fails a deployment whose tasks never start or pass
            # their health checks; the rollback alarms catch a revision that starts but errs.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_strategy=strategy,
            bake_time=Duration.minutes(dep.bake_minutes) if dep.shifts_traffic else None,
            canary_configuration=(
                ecs.TrafficShiftConfig(
                    step_percent=dep.canary_percent,
                    step_bake_time=Duration.minutes(dep.canary_bake_minutes),
                )
                if dep.strategy == "canary"
                else None
            ),
            linear_configuration=(
                ecs.TrafficShiftConfig(
                    step_percent=dep.linear_step_percent,
                    step_bake_time=Duration.minutes(dep.linear_step_minutes),
                )
                if dep.strategy == "linear"
                else None
            ),
            health_check_grace_period=Duration.seconds(service.health_check_grace_period_seconds),
            vpc_subnets=subnets,
            assign_public_ip=assign_public_ip,
            security_groups=[self.security_group],
            capacity_provider_strategies=capacity(service),
            # Always stated, so the template says which platform runs ARM64 (Spot) tasks.
            platform_version=PLATFORM_VERSIONS[service.platform_version],
            enable_execute_command=service.enable_exec,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            # DNS discovery only in a DNS namespace (cluster.cloud_map_namespace without a
            # backend); with a backend the namespace is Service Connect's HTTP one.
            cloud_map_options=(
                ecs.CloudMapOptions(name=name)
                if _dns_namespace(cluster.default_cloud_map_namespace)
                else None
            ),
            # A Service Connect client: it reaches the backends at http://NAME:PORT.
            service_connect_configuration=(
                ecs.ServiceConnectProps() if environment_tasks is not None else None
            ),
        )
        if environment_tasks is not None:
            # With a backend in the environment: also in the task group the backends admit.
            join_environment_tasks(self.service, self.security_group, environment_tasks)
        self.deploy_role = self._deploy_role() if dep.shifts_traffic else None
        alternate = None
        if self.alternate_target_group is not None and self.deploy_role is not None:
            alternate = ecs.AlternateTarget(
                "AlternateTarget",
                alternate_target_group=self.alternate_target_group,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(
                    self.rules[0]
                ),
                test_listener=(
                    ecs.ListenerRuleConfiguration.application_listener_rule(self.test_rule)
                    if self.test_rule is not None
                    else None
                ),
                role=self.deploy_role,
            )
        self.service.load_balancer_target(
            container_name=CONTAINER_NAME,
            container_port=service.container_port,
            alternate_target=alternate,
        ).attach_to_application_target_group(self.target_group)
        self.scaling = task_count(self.service, service, target_group=self.target_group)

    def _target_group(self, construct_id: str, svc: ServiceConfig) -> elbv2.ApplicationTargetGroup:
        hc = svc.health_check
        return elbv2.ApplicationTargetGroup(
            self,
            construct_id,
            vpc=self._vpc,
            target_type=elbv2.TargetType.IP,
            protocol=elbv2.ApplicationProtocol.HTTP,
            port=svc.container_port,
            deregistration_delay=Duration.seconds(hc.deregistration_delay_seconds),
            health_check=elbv2.HealthCheck(
                path=hc.path,
                interval=Duration.seconds(hc.interval_seconds),
                timeout=Duration.seconds(hc.timeout_seconds),
                healthy_threshold_count=hc.healthy_threshold,
                unhealthy_threshold_count=hc.unhealthy_threshold,
                healthy_http_codes=hc.matcher,
            ),
        )

    def _forward(self) -> elbv2.ListenerAction:
        """All traffic to the primary target group; with an alternate one, a weighted forward
        (100 / 0) whose weights ECS moves during a deployment."""
        if self.alternate_target_group is None:
            return elbv2.ListenerAction.forward([self.target_group])
        return elbv2.ListenerAction.weighted_forward(
            [
                elbv2.WeightedTargetGroup(target_group=self.target_group, weight=100),
                elbv2.WeightedTargetGroup(target_group=self.alternate_target_group, weight=0),
            ]
        )

    def _deploy_role(self) -> iam.Role:
        """The role ECS assumes to move traffic: AmazonECSInfrastructureRolePolicyForLoadBalancers
        (v6) scoped to this service. Its target-group actions name the two target groups, its
        ModifyRule the production and test rules; ModifyListener (for a listener's default
        action, or an NLB) is not needed: the service's traffic is on rules. The four Describe
        actions have no resource-level permissions (Service Authorization Reference, ELB v2)."""
        role = iam.Role(
            self,
            "DeployRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description="ECS moves this service's listener-rule weights during deployments",
        )
        rules = [self.rules[0]] + ([self.test_rule] if self.test_rule is not None else [])
        for statement in (
            iam.PolicyStatement(
                sid="ELBReadOperations",
                actions=[f"elasticloadbalancing:{a}" for a in DEPLOY_ROLE_DESCRIBE],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="TargetGroupOperations",
                actions=[
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeregisterTargets",
                ],
                resources=[tg.target_group_arn for tg in self.target_groups],
            ),
            iam.PolicyStatement(
                sid="ALBModifyRules",
                actions=["elasticloadbalancing:ModifyRule"],
                resources=[rule.listener_rule_arn for rule in rules],
            ),
        ):
            role.add_to_policy(statement)
        return role


def _dns_namespace(namespace: servicediscovery.INamespace | None) -> bool:
    return namespace is not None and namespace.type != servicediscovery.NamespaceType.HTTP


def _conditions(route: Route) -> list[elbv2.ListenerCondition]:
    conditions = []
    if route.hosts:
        conditions.append(elbv2.ListenerCondition.host_headers(list(route.hosts)))
    if route.paths:
        conditions.append(elbv2.ListenerCondition.path_patterns(list(route.paths)))
    if route.header:
        name, value = route.header
        conditions.append(elbv2.ListenerCondition.http_header(name, [value]))
    return conditions
