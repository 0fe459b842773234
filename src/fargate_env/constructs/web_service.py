"""WebService: one service's task definition, Fargate service, target group, listener rule,
scaling and schedule, on a cluster and listener it is handed."""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from fargate_env.config import Route, ServiceConfig
from fargate_env.config.deployment import ECS_STRATEGY
from fargate_env.constructs.common import retention

CONTAINER_NAME = "app"
# A module of the sample image (server/src/sample_server/healthcheck.py): the image has no curl.
HEALTH_CHECK_COMMAND = ["CMD", "python", "-m", "sample_server.healthcheck"]
TMP_VOLUME = "tmp"
EXEC_AGENT_PATHS = {"ssm-state": "/var/lib/amazon/ssm", "ssm-logs": "/var/log/amazon/ssm"}
# Secrets Manager appends "-" and 6 random characters to a secret's name in its complete ARN.
_COMPLETE_SECRET_ARN = re.compile(r"-[A-Za-z0-9]{6}$")
HTTPS_PORT = 443
# config platform_version -> CDK's enum (whose members carry their own names).
PLATFORM_VERSIONS = {
    "LATEST": ecs.FargatePlatformVersion.LATEST,
    "1.4.0": ecs.FargatePlatformVersion.VERSION1_4,
    "1.3.0": ecs.FargatePlatformVersion.VERSION1_3,
}
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
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = service
        self._vpc = cluster.vpc

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=retention(service.log_retention_days),
            # Non-prod application logs: the retention period, not the stack, decides their life.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.task_definition = self._task_definition(name, service, repository, keep_alive_seconds)

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=cluster.vpc,
            description=f"{name} tasks: the ALB on the container port in, HTTPS out",
            allow_all_outbound=False,
        )
        # Tasks only call AWS APIs (ECR, S3 layers, Logs, Secrets Manager, SSM) over HTTPS.
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(HTTPS_PORT), "AWS APIs over HTTPS"
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
            capacity_provider_strategies=_capacity(service),
            # Always stated, so the template says which platform runs ARM64 (Spot) tasks.
            platform_version=PLATFORM_VERSIONS[service.platform_version],
            enable_execute_command=service.enable_exec,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            cloud_map_options=(
                ecs.CloudMapOptions(name=name) if cluster.default_cloud_map_namespace else None
            ),
        )
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
        self.scaling = self._scaling(service)

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

    def _task_definition(
        self, name: str, svc: ServiceConfig, repository: ecr.IRepository | None, keep_alive: int
    ) -> ecs.FargateTaskDefinition:
        hc = svc.health_check
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=svc.cpu,
            memory_limit_mib=svc.memory,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=(
                    ecs.CpuArchitecture.ARM64
                    if svc.architecture == "arm64"
                    else ecs.CpuArchitecture.X86_64
                ),
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        environment = {
            **svc.environment,
            # The sample server and its health-check module read these (sample_server.settings).
            "PORT": str(svc.container_port),
            "HEALTH_PATH": hc.path,
            # Below the container check's timeout so the module reports failure, not ECS.
            "HEALTH_TIMEOUT_SECONDS": str(max(hc.container_timeout_seconds - 1, 1)),
            # Drain in-flight requests on SIGTERM, but finish before ECS's SIGKILL.
            "SHUTDOWN_TIMEOUT_SECONDS": str(svc.drain_seconds),
            "SERVICE_NAME": name,
            # Idle keep-alive connections must outlive the ALB's idle timeout, or the ALB reuses
            # one the task just closed and answers 502 (ELB docs, "Connection idle timeout").
            "HEADER_READ_TIMEOUT_SECONDS": str(keep_alive),
        }
        # An init process reaps zombies and forwards SIGTERM; no Linux capability is needed.
        linux = ecs.LinuxParameters(self, "LinuxParameters", init_process_enabled=True)
        linux.drop_capabilities(ecs.Capability.ALL)
        container = task_definition.add_container(
            CONTAINER_NAME,
            image=self._image(svc, repository),
            essential=True,
            port_mappings=[
                ecs.PortMapping(container_port=svc.container_port, protocol=ecs.Protocol.TCP)
            ],
            environment=environment,
            secrets=self._secrets(svc),
            # Grants the execution role CreateLogStream/PutLogEvents on this one log group.
            logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=self.log_group),
            health_check=_container_check(svc),
            user=svc.container_user,
            readonly_root_filesystem=svc.read_only_root_filesystem,
            stop_timeout=Duration.seconds(svc.stop_timeout_seconds),
            linux_parameters=linux,
        )
        if svc.secret_kms_keys:
            # Secrets under a customer-managed key: decrypt with exactly those keys.
            task_definition.add_to_execution_role_policy(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=list(svc.secret_kms_keys))
            )
        if svc.read_only_root_filesystem:
            # Task-local (ephemeral storage) volumes: the only writable paths in the container.
            # The ECS Exec agent needs its own state and log directories writable too
            # (aws/containers-roadmap#1359).
            writable = {TMP_VOLUME: "/tmp"}
            if svc.enable_exec:
                writable |= EXEC_AGENT_PATHS
            for volume, path in writable.items():
                task_definition.add_volume(name=volume)
                container.add_mount_points(
                    ecs.MountPoint(container_path=path, source_volume=volume, read_only=False)
                )
        self.container = container
        return task_definition

    def _image(self, svc: ServiceConfig, repository: ecr.IRepository | None) -> ecs.ContainerImage:
        if svc.image is None or svc.image.uri is None:
            assert repository is not None, "a built image needs its ECR repository"
            # Grants the execution role pull on this one repository (+ GetAuthorizationToken).
            return ecs.ContainerImage.from_ecr_repository(repository, tag=svc.image_tag)
        credentials = None
        if svc.image.credentials:
            # repositoryCredentials: the execution role may read this one secret, nothing else.
            credentials = secretsmanager.Secret.from_secret_attributes(
                self, "RegistryCredentials", **_secret_attributes(svc.image.credentials)
            )
        return ecs.ContainerImage.from_registry(svc.image.uri, credentials=credentials)

    def _secrets(self, svc: ServiceConfig) -> dict[str, ecs.Secret]:
        """ECS injects each secret at start; each grants the execution role read on it alone."""
        secrets: dict[str, ecs.Secret] = {}
        for name, ref in svc.secrets.items():
            if ref.startswith("arn:"):
                secret = secretsmanager.Secret.from_secret_attributes(
                    self, f"Secret{name}", **_secret_attributes(ref)
                )
                secrets[name] = ecs.Secret.from_secrets_manager(secret)
            else:
                parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
                    self, f"Parameter{name}", parameter_name=ref
                )
                secrets[name] = ecs.Secret.from_ssm_parameter(parameter)
        return secrets

    def _scaling(self, svc: ServiceConfig) -> ecs.ScalableTaskCount:
        scaling = svc.scaling
        cooldowns = {
            "scale_in_cooldown": Duration.seconds(scaling.scale_in_cooldown_seconds),
            "scale_out_cooldown": Duration.seconds(scaling.scale_out_cooldown_seconds),
        }
        target = self.service.auto_scale_task_count(
            min_capacity=scaling.min_tasks, max_capacity=scaling.max_tasks
        )
        target.scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=scaling.cpu_target_percent, **cooldowns
        )
        if scaling.memory_target_percent is not None:
            target.scale_on_memory_utilization(
                "Memory", target_utilization_percent=scaling.memory_target_percent, **cooldowns
            )
        if scaling.requests_per_target is not None:
            target.scale_on_request_count(
                "Requests",
                requests_per_target=scaling.requests_per_target,
                target_group=self.target_group,
                **cooldowns,
            )
        schedule = svc.schedule
        if schedule is not None:
            zone = TimeZone.of(schedule.timezone)
            target.scale_on_schedule(
                "Stop",
                schedule=appscaling.Schedule.expression(schedule.stop),
                min_capacity=0,
                max_capacity=0,
                time_zone=zone,
            )
            target.scale_on_schedule(
                "Start",
                schedule=appscaling.Schedule.expression(schedule.start),
                min_capacity=scaling.min_tasks,
                max_capacity=scaling.max_tasks,
                time_zone=zone,
            )
        return target


def _secret_attributes(arn: str) -> dict[str, str]:
    """A complete ARN (with Secrets Manager's 6-character suffix) is granted as is; a partial
    one with a wildcard for the suffix."""
    if _COMPLETE_SECRET_ARN.search(arn):
        return {"secret_complete_arn": arn}
    return {"secret_partial_arn": arn}


def _container_check(svc: ServiceConfig) -> ecs.HealthCheck | None:
    """The container's own check: the configured command, else the sample image's own module
    when the service runs the sample image; None when there is none (the target group's check
    still guards the service)."""
    hc = svc.health_check
    command = hc.container_command
    if command is None:
        command = HEALTH_CHECK_COMMAND if svc.runs_sample_image else []
    if not command:
        return None
    return ecs.HealthCheck(
        command=command,
        interval=Duration.seconds(hc.container_interval_seconds),
        timeout=Duration.seconds(hc.container_timeout_seconds),
        retries=hc.container_retries,
        start_period=Duration.seconds(hc.container_start_period_seconds),
    )


def _capacity(svc: ServiceConfig) -> list[ecs.CapacityProviderStrategy]:
    """`on_demand_base` tasks on FARGATE, the rest on FARGATE_SPOT when Spot is on."""
    capacity = svc.capacity
    if not capacity.spot:
        return [
            ecs.CapacityProviderStrategy(
                capacity_provider="FARGATE", base=capacity.on_demand_base, weight=1
            )
        ]
    return [
        ecs.CapacityProviderStrategy(
            capacity_provider="FARGATE", base=capacity.on_demand_base, weight=0
        ),
        ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1),
    ]


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
