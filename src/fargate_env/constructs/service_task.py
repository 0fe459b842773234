"""ServiceTask: what every kind runs: the log group, the task definition with its roles, the one
container (image, command, environment, secrets, health check, read-only root with task-local
volumes, ECS Exec), and the capacity strategy. web, backend, worker and job share it."""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from fargate_env.config import ServiceConfig
from fargate_env.constructs.common import retention

CONTAINER_NAME = "app"
HTTPS_PORT = 443
# A backend's port mapping name: Service Connect publishes the port under it.
PORT_NAME = "http"
# A module of the sample image (server/src/sample_server/healthcheck.py): the image has no curl.
HEALTH_CHECK_COMMAND = ["CMD", "python", "-m", "sample_server.healthcheck"]
TMP_VOLUME = "tmp"
EXEC_AGENT_PATHS = {"ssm-state": "/var/lib/amazon/ssm", "ssm-logs": "/var/log/amazon/ssm"}
# Secrets Manager appends "-" and 6 random characters to a secret's name in its complete ARN.
_COMPLETE_SECRET_ARN = re.compile(r"-[A-Za-z0-9]{6}$")
# config platform_version -> CDK's enum (whose members carry their own names).
PLATFORM_VERSIONS = {
    "LATEST": ecs.FargatePlatformVersion.LATEST,
    "1.4.0": ecs.FargatePlatformVersion.VERSION1_4,
    "1.3.0": ecs.FargatePlatformVersion.VERSION1_3,
}


class ServiceTask(Construct):
    """One service's task definition and log group.

    `keep_alive_seconds`: a web service's idle keep-alive (it must outlive the ALB's); None
    for the other kinds. A web service creates this as its "Default" child, whose id the
    logical-id hashing skips: the web templates deployed before the kinds keep their ids.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        service: ServiceConfig,
        repository: ecr.IRepository | None,
        keep_alive_seconds: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        svc = service
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=retention(svc.log_retention_days),
            # Non-prod application logs: the retention period, not the stack, decides their life.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.task_definition = ecs.FargateTaskDefinition(
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
        # An init process reaps zombies and forwards SIGTERM; no Linux capability is needed.
        linux = ecs.LinuxParameters(self, "LinuxParameters", init_process_enabled=True)
        linux.drop_capabilities(ecs.Capability.ALL)
        self.container = self.task_definition.add_container(
            CONTAINER_NAME,
            image=self._image(svc, repository),
            essential=True,
            command=svc.command,
            port_mappings=_ports(svc),
            environment=_environment(name, svc, keep_alive_seconds),
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
            self.task_definition.add_to_execution_role_policy(
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
                self.task_definition.add_volume(name=volume)
                self.container.add_mount_points(
                    ecs.MountPoint(container_path=path, source_volume=volume, read_only=False)
                )

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


def _ports(svc: ServiceConfig) -> list[ecs.PortMapping] | None:
    """web and backend listen on container_port; a backend's mapping is named for Service
    Connect. A worker and a job publish no port."""
    if not svc.listens:
        return None
    return [
        ecs.PortMapping(
            container_port=svc.container_port,
            protocol=ecs.Protocol.TCP,
            name=PORT_NAME if svc.kind == "backend" else None,
            app_protocol=ecs.AppProtocol.http if svc.kind == "backend" else None,
        )
    ]


def _environment(name: str, svc: ServiceConfig, keep_alive: int | None) -> dict[str, str]:
    hc = svc.health_check
    environment = {**svc.environment}
    if svc.listens:
        # The sample server and its health-check module read these (sample_server.settings).
        environment["PORT"] = str(svc.container_port)
    if svc.kind != "job":
        environment |= {
            "HEALTH_PATH": hc.path,
            # Below the container check's timeout so the module reports failure, not ECS.
            "HEALTH_TIMEOUT_SECONDS": str(max(hc.container_timeout_seconds - 1, 1)),
        }
    # Drain (or finish the unit of work) on SIGTERM, but before ECS's SIGKILL.
    environment["SHUTDOWN_TIMEOUT_SECONDS"] = str(svc.drain_seconds)
    environment["SERVICE_NAME"] = name
    if keep_alive is not None:
        # Idle keep-alive connections must outlive the ALB's idle timeout, or the ALB reuses
        # one the task just closed and answers 502 (ELB docs, "Connection idle timeout").
        environment["HEADER_READ_TIMEOUT_SECONDS"] = str(keep_alive)
    return environment


def _secret_attributes(arn: str) -> dict[str, str]:
    """A complete ARN (with Secrets Manager's 6-character suffix) is granted as is; a partial
    one with a wildcard for the suffix."""
    if _COMPLETE_SECRET_ARN.search(arn):
        return {"secret_complete_arn": arn}
    return {"secret_partial_arn": arn}


def _container_check(svc: ServiceConfig) -> ecs.HealthCheck | None:
    """The container's own check: the configured command, else the sample image's own module
    when the service runs the sample image; None when there is none, and always for a job (a
    run is judged by its exit code)."""
    if svc.kind == "job":
        return None
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


def capacity(svc: ServiceConfig) -> list[ecs.CapacityProviderStrategy]:
    """`on_demand_base` tasks on FARGATE, the rest on FARGATE_SPOT when Spot is on."""
    cap = svc.capacity
    if not cap.spot:
        return [ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=cap.on_demand_base,
                                             weight=1)]  # fmt: skip
    return [
        ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=cap.on_demand_base,
                                     weight=0),
        ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1),
    ]  # fmt: skip


def join_environment_tasks(
    service: ecs.FargateService, own: ec2.ISecurityGroup, environment_tasks: ec2.ISecurityGroup
) -> None:
    """Put the service's tasks in the environment's task group too, outside CDK's
    `connections`: the ALB's ingress (and every other rule CDK derives) stays on the service's
    own group, and no rule is written back into the platform stack that owns the shared one."""
    cfn = service.node.default_child
    assert isinstance(cfn, ecs.CfnService)
    cfn.add_property_override(
        "NetworkConfiguration.AwsvpcConfiguration.SecurityGroups",
        [own.security_group_id, environment_tasks.security_group_id],
    )


def task_security_group(scope: Construct, vpc: ec2.IVpc, description: str) -> ec2.SecurityGroup:
    """The tasks' own group ("SecurityGroup" in `scope`): nothing in until a caller admits a
    peer; out only HTTPS, since tasks only call AWS APIs (ECR, S3 layers, Logs, Secrets
    Manager, SSM)."""
    group = ec2.SecurityGroup(
        scope, "SecurityGroup", vpc=vpc, description=description, allow_all_outbound=False
    )
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(HTTPS_PORT), "AWS APIs over HTTPS")
    return group
