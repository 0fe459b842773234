"""One service on the environment: image, size, capacity, scaling, schedule, health check,
routing. Everything that differs between two services of one environment lives here."""

from __future__ import annotations

import re
import zlib
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from fargate_env.config.base import Section
from fargate_env.config.deployment import DeploymentConfig
from fargate_env.config.image import ImageConfig
from fargate_env.config.job import JobConfig
from fargate_env.config.limits import (
    ALB_CONDITION_VALUE_LENGTH,
    ALB_CONDITION_VALUES,
    ALB_WILDCARDS,
    FARGATE_ARM64_MIN_PLATFORM,
    FARGATE_PLATFORM_VERSIONS,
    FARGATE_SIZES,
    FARGATE_SPOT_NOTICE_SECONDS,
    FARGATE_STOP_TIMEOUT_MAX,
    MUTABLE_TAGS,
    RULE_PRIORITY_MAX,
)
from fargate_env.config.task_definition import check_container_values
from fargate_env.config.types import (
    AwsCron,
    DockerTag,
    EcrRepositoryName,
    EnvironmentVariables,
    KmsKeyArn,
    RetentionDays,
    SecretRefs,
    SqsQueueName,
    Timezone,
    between,
)

# The default service's catch-all rule takes the last priority; derived ones stay below it.
DEFAULT_RULE_PRIORITY = RULE_PRIORITY_MAX
_PATH_RE = re.compile(r"^/[A-Za-z0-9_\-.$/~\"'@:+*?&=]*$")
_HEALTH_PATH_RE = re.compile(r"^/[A-Za-z0-9_\-.$/~@:+&=]*$")
_HOST_RE = re.compile(r"^[a-z0-9*?]([a-z0-9*?.-]*[a-z0-9*?])?$")
# web: behind a rule of the public listener; backend: reached by name inside the environment
# (Service Connect); worker: no port; job: one task per scheduled run, nothing in between.
ServiceKind = Literal["web", "backend", "worker", "job"]


class HealthCheckConfig(Section):
    """The target group's check (load balancer) and the container's check (ECS)."""

    path: str = "/health"
    interval_seconds: Annotated[int, between(5, 300)] = 10
    timeout_seconds: Annotated[int, between(2, 120)] = 5
    healthy_threshold: Annotated[int, between(2, 10)] = 2
    unhealthy_threshold: Annotated[int, between(2, 10)] = 2
    matcher: str = "200"
    # The sample service drains in well under a second; AWS's default of 300 s wastes deploys.
    deregistration_delay_seconds: Annotated[int, between(0, 3600)] = 10
    container_interval_seconds: Annotated[int, between(5, 300)] = 10
    container_timeout_seconds: Annotated[int, between(2, 60)] = 5
    container_retries: Annotated[int, between(1, 10)] = 3
    container_start_period_seconds: Annotated[int, between(0, 300)] = 10
    # The container's own check (ECS healthCheck.command, e.g. ["CMD", "/app/healthcheck"]).
    # None: the sample image's check when the service runs the sample image (no [image]
    # table), none for any other image; [] turns it off.
    container_command: list[str] | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        # The ALB requests exactly this path (no query string, no fragment) and the sample
        # server compares it literally.
        if len(value) > 1024 or not _HEALTH_PATH_RE.match(value):
            raise ValueError(
                "must start with '/' and be a path of at most 1024 characters, without query"
                f" string or fragment (A-Z a-z 0-9 _ - . $ / ~ @ : + & =; got {value!r})"
            )
        return value

    @field_validator("matcher")
    @classmethod
    def _matcher(cls, value: str) -> str:
        codes: list[int] = []
        for part in value.split(","):
            bounds = part.strip().split("-")
            if not all(b.isdigit() for b in bounds) or len(bounds) > 2:
                raise ValueError(f"must be HTTP codes like '200' or '200-299' (got {value!r})")
            codes.extend(int(b) for b in bounds)
        if not all(200 <= code <= 499 for code in codes):
            raise ValueError(f"codes must lie within 200-499 (got {value!r})")
        return value

    @model_validator(mode="after")
    def _timeouts(self) -> HealthCheckConfig:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"timeout_seconds ({self.timeout_seconds}) must be below interval_seconds"
                f" ({self.interval_seconds})"
            )
        if self.container_timeout_seconds >= self.container_interval_seconds:
            raise ValueError(
                f"container_timeout_seconds ({self.container_timeout_seconds}) must be below"
                f" container_interval_seconds ({self.container_interval_seconds})"
            )
        return self

    # The health-check timing formulas, the one place they live (summary, cost, the local
    # rehearsal and failover all read them from here).
    @property
    def detection_seconds(self) -> int:
        """How long the load balancer takes to stop routing to a dead target."""
        return self.interval_seconds * self.unhealthy_threshold

    @property
    def detection_bound_seconds(self) -> int:
        """Worst case of the same: up to one interval passes before the first failed check."""
        return self.interval_seconds * (self.unhealthy_threshold + 1)

    @property
    def registration_seconds(self) -> int:
        """How long a new target takes to pass enough checks to receive traffic."""
        return self.interval_seconds * self.healthy_threshold

    @property
    def registration_bound_seconds(self) -> int:
        """Worst case of the same: up to one interval passes before the first check."""
        return self.interval_seconds * (self.healthy_threshold + 1)

    @property
    def deploy_overhead_seconds(self) -> int:
        """Load-balancer time per rolling-deploy step: register healthy, then drain the old."""
        return self.registration_seconds + self.deregistration_delay_seconds


class RoutingConfig(Section):
    """Which requests the shared ALB's HTTPS listener sends to this service.

    Conditions within one rule are ANDed (host and path); values within one are ORed.
    `default = true` also makes the service the catch-all for requests no rule matches.
    """

    path_patterns: list[str] = []
    host_headers: list[str] = []
    # None: derived from the service name alone, so it never moves when others come or go.
    priority: Annotated[int, between(1, RULE_PRIORITY_MAX - 1)] | None = None
    default: bool = False

    @field_validator("path_patterns")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if len(path) > ALB_CONDITION_VALUE_LENGTH or not _PATH_RE.match(path):
                raise ValueError(
                    f"{path!r}: a path pattern starts with '/' and has at most"
                    f" {ALB_CONDITION_VALUE_LENGTH} characters (A-Z a-z 0-9 _ - . $ / ~ \" ' @"
                    " : + * ? & =)"
                )
        return value

    @field_validator("host_headers")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if len(host) > ALB_CONDITION_VALUE_LENGTH or not _HOST_RE.match(host):
                raise ValueError(
                    f"{host!r}: a host header is a lowercase DNS name (wildcards * and ?"
                    f" allowed) of at most {ALB_CONDITION_VALUE_LENGTH} characters"
                )
        return value

    @model_validator(mode="after")
    def _quota(self) -> RoutingConfig:
        values = [*self.path_patterns, *self.host_headers]
        if len(values) > ALB_CONDITION_VALUES:
            raise ValueError(
                f"{len(values)} path/host values: an ALB rule takes at most"
                f" {ALB_CONDITION_VALUES} condition values (ALB quota)"
            )
        wildcards = sum(v.count("*") + v.count("?") for v in values)
        if wildcards > ALB_WILDCARDS:
            raise ValueError(
                f"{wildcards} wildcards: an ALB rule takes at most {ALB_WILDCARDS} (ALB quota)"
            )
        return self

    @property
    def has_rule(self) -> bool:
        return bool(self.path_patterns or self.host_headers)

    def rule_priority(self, service: str) -> int:
        """The explicit priority, or one derived from the service's name alone (stable)."""
        if self.priority is not None:
            return self.priority
        return 1 + zlib.crc32(service.encode()) % (RULE_PRIORITY_MAX - 1)


class CapacityConfig(Section):
    # Spot is about 70 % cheaper and the 2-minute interruption warning is fine for non-prod.
    spot: bool = True
    # Tasks always placed on on-demand FARGATE before any Spot share.
    on_demand_base: int = Field(0, ge=0, le=10)


class ScalingConfig(Section):
    min_tasks: Annotated[int, between(0, 10)] = 1
    max_tasks: int = Field(4, ge=1)
    cpu_target_percent: Annotated[int, between(10, 90)] = 60
    memory_target_percent: Annotated[int, between(10, 90)] | None = None
    requests_per_target: Annotated[int, between(1, 100_000)] | None = None
    # kind = "worker" with a queue: visible messages one task is expected to work off.
    queue_messages_per_task: Annotated[int, between(1, 100_000)] = 10
    scale_in_cooldown_seconds: Annotated[int, between(0, 3600)] = 120
    scale_out_cooldown_seconds: Annotated[int, between(0, 3600)] = 60

    @field_validator("max_tasks")
    @classmethod
    def _max(cls, value: int) -> int:
        if value > 10:
            raise ValueError(
                f"must be at most 10: this is a non-production environment (got {value})"
            )
        return value

    @model_validator(mode="after")
    def _range(self) -> ScalingConfig:
        if self.min_tasks > self.max_tasks:
            raise ValueError(
                f"min_tasks ({self.min_tasks}) must not exceed max_tasks ({self.max_tasks})"
            )
        return self


class ScheduleConfig(Section):
    """Off-hours scale-to-zero: min = max = 0 at stop, restored at start."""

    timezone: Timezone = "UTC"
    stop: AwsCron = "cron(0 20 ? * MON-FRI *)"
    start: AwsCron = "cron(0 7 ? * MON-FRI *)"

    @model_validator(mode="after")
    def _distinct(self) -> ScheduleConfig:
        if self.start.replace(" ", "") == self.stop.replace(" ", ""):
            raise ValueError(f"start and stop are the same schedule ({self.start!r})")
        return self


class ServiceConfig(Section):
    kind: ServiceKind = "web"
    # kind = "worker": an SQS queue of the environment's account and region; its depth scales
    # the worker too, and the task role may read only it.
    queue: SqsQueueName | None = None
    # kind = "job": its run schedule (`schedule = "cron(...)"` in the file lands here).
    job: JobConfig | None = None
    # None: the sample server of this project (server/), built by `push`.
    image: ImageConfig | None = None
    # None: "<environment>/<service>".
    repository_name: EcrRepositoryName | None = None
    image_tag: DockerTag = "initial"
    cpu: int = 256
    memory: int = 512
    # x86_64 by default: every Docker engine builds it natively, while arm64 needs an arm64
    # machine or QEMU emulation (README, "Architecture"). arm64 is 20 % cheaper, Spot too.
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    # LATEST is what AWS recommends and is 1.4.0 today; a pin below 1.4.0 is refused for
    # arm64 (ARM64 tasks, on Fargate and on FARGATE_SPOT, need 1.4.0 or later).
    platform_version: Literal[FARGATE_PLATFORM_VERSIONS] = "LATEST"  # type: ignore[valid-type]
    container_port: Annotated[int, between(1, 65535)] = 8080
    # The container's command instead of the image's CMD (a job's run, a worker's loop).
    command: list[str] | None = None
    # The sample image's non-root user (server/Dockerfile); the task definition repeats it.
    container_user: str = "10001"
    # The sample server writes only to /tmp, which the task mounts as a task-local volume.
    read_only_root_filesystem: bool = True
    environment: EnvironmentVariables = {}
    # Environment variable name -> Secrets Manager secret ARN or SSM parameter name.
    secrets: SecretRefs = {}
    # Customer-managed keys those secrets are encrypted with: the execution role may decrypt
    # with exactly these (AWS-managed keys need no grant).
    secret_kms_keys: list[KmsKeyArn] = []
    log_retention_days: RetentionDays = 14
    health_check_grace_period_seconds: int = Field(30, ge=0, le=2_147_483_647)
    # Fargate allows up to 120 s; the sample service drains in well under this.
    stop_timeout_seconds: int = Field(30, ge=2, le=FARGATE_STOP_TIMEOUT_MAX)
    enable_exec: bool = False
    capacity: CapacityConfig = CapacityConfig()
    scaling: ScalingConfig = ScalingConfig()
    schedule: ScheduleConfig | None = None
    health_check: HealthCheckConfig = HealthCheckConfig()
    routing: RoutingConfig = RoutingConfig()
    # Scale-to-zero (min_tasks = 0, a schedule) works with every strategy: ECS documents no
    # restriction, a deployment at zero tasks starts none, and Application Auto Scaling holds
    # scale-in (a scheduled stop) until a running deployment has finished.
    deployment: DeploymentConfig = DeploymentConfig()

    @model_validator(mode="before")
    @classmethod
    def _job_schedule(cls, data: object) -> object:
        """A job's `schedule = "cron(...)"` is its run schedule; a table is off-hours."""
        if not isinstance(data, dict) or not isinstance(data.get("schedule"), str):
            return data
        if data.get("kind") != "job":
            raise ValueError(
                'schedule = "..." is a scheduled job\'s: set kind = "job", or give a'
                " [services.NAME.schedule] table with start and stop for off-hours"
            )
        job = data.get("job") or {}
        if not isinstance(job, dict):
            return data  # the job table's own validation names the mistake
        if "schedule" in job:
            raise ValueError("schedule and job.schedule both set: keep one")
        rest = {k: v for k, v in data.items() if k != "schedule"}
        return {**rest, "job": {**job, "schedule": data["schedule"]}}

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: int) -> int:
        if value not in FARGATE_SIZES:
            allowed = ", ".join(map(str, FARGATE_SIZES))
            raise ValueError(f"must be a Fargate CPU size: {allowed} (got {value})")
        return value

    @field_validator("image_tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if value in MUTABLE_TAGS:
            raise ValueError(
                f"{value!r} can never move: the service's ECR repository has immutable tags,"
                " so it is pushed once and never again; use the tag `push` prints"
            )
        return value

    @model_validator(mode="after")
    def _image(self) -> ServiceConfig:
        if self.image is None or self.image.uri is None:
            return self
        # By value, not by what the file set: a model_dump() round trip sets every field.
        defaults = type(self).model_fields
        for field in ("image_tag", "repository_name"):
            if getattr(self, field) != defaults[field].default:
                raise ValueError(
                    f"{field}: the service runs image.uri {self.image.uri!r}, which has no ECR"
                    " repository; remove it (the uri names the tag)"
                )
        return self

    @model_validator(mode="after")
    def _kind(self) -> ServiceConfig:
        kind = self.kind
        if kind == "job" and self.job is None:
            raise ValueError(
                'kind = "job" runs on a schedule: set schedule = "cron(0 3 * * ? *)"'
                ' or "rate(6 hours)"'
            )
        if kind != "job" and self.job is not None:
            raise ValueError(f'job: only kind = "job" has a run schedule (this is a {kind})')
        if kind != "worker" and self.queue is not None:
            raise ValueError(f'queue: only kind = "worker" reads a queue (this is a {kind})')
        if self.command == []:
            raise ValueError("command: empty; remove it to run the image's own CMD")
        if kind == "web":
            return self
        if self.routing.has_rule or self.routing.default:
            reach = {
                "backend": "other services call it at http://NAME:PORT inside the environment",
                "worker": "it takes no requests",
                "job": "it runs on its schedule",
            }[kind]
            raise ValueError(
                f"routing: a {kind} has no rule on the public listener ({reach});"
                ' remove routing, or make it kind = "web"'
            )
        if self.deployment.strategy != "rolling":
            raise ValueError(
                f"deployment.strategy {self.deployment.strategy!r}: shifts load-balancer"
                f' traffic, which a {kind} has none of; use "rolling"'
            )
        if self.scaling.requests_per_target is not None:
            raise ValueError(
                f"scaling.requests_per_target: counts load-balancer requests, which a {kind}"
                " has none of; scale on CPU (scaling.cpu_target_percent)"
            )
        if kind == "job" and self.schedule is not None:
            raise ValueError(
                "[schedule] table: off-hours scale-to-zero is for long-running services;"
                " a job runs only on its own schedule"
            )
        return self

    @model_validator(mode="after")
    def _container(self) -> ServiceConfig:
        port = self.environment.get("PORT")
        if self.listens and port is not None and port != str(self.container_port):
            raise ValueError(
                f"environment.PORT ({port}) differs from container_port"
                f" ({self.container_port}): the task sets PORT to container_port; remove"
                " PORT or set container_port to it"
            )
        check_container_values(self.environment, self.secrets)
        return self

    @model_validator(mode="after")
    def _combinations(self) -> ServiceConfig:
        if self.memory not in FARGATE_SIZES[self.cpu]:
            allowed = FARGATE_SIZES[self.cpu]
            raise ValueError(
                f"memory {self.memory} MiB is not a Fargate size for cpu {self.cpu}:"
                f" allowed {allowed[0]}-{allowed[-1]} MiB in steps of"
                f" {allowed[1] - allowed[0] if len(allowed) > 1 else allowed[0]}"
                f" ({', '.join(map(str, allowed[:6]))}{', ...' if len(allowed) > 6 else ''})"
            )
        values = len(self.routing.path_patterns) + len(self.routing.host_headers)
        if self.deployment.shifts_traffic and values + 1 > ALB_CONDITION_VALUES:
            raise ValueError(
                f"deployment.strategy {self.deployment.strategy!r}: the test rule adds the"
                f" {self.deployment.test_header} header to the route's {values} path/host values;"
                f" an ALB rule takes at most {ALB_CONDITION_VALUES} condition values (ALB quota)"
            )
        if self.capacity.on_demand_base > self.scaling.max_tasks:
            raise ValueError(
                f"capacity.on_demand_base ({self.capacity.on_demand_base}) exceeds"
                f" scaling.max_tasks ({self.scaling.max_tasks}): the base can never be reached"
            )
        if self.container_port < 1024 and self.container_user not in ("0", "root"):
            raise ValueError(
                f"container_port {self.container_port} is a privileged port: container_user"
                f" {self.container_user!r} cannot bind it (the task drops every Linux"
                " capability); use a port of 1024 or above"
            )
        drain = self.health_check.deregistration_delay_seconds + self.stop_timeout_seconds
        if self.capacity.spot and drain > FARGATE_SPOT_NOTICE_SECONDS:
            raise ValueError(
                f"health_check.deregistration_delay_seconds + stop_timeout_seconds = {drain} s:"
                f" on Fargate Spot both must fit the {FARGATE_SPOT_NOTICE_SECONDS}-s"
                " interruption notice"
            )
        if self.architecture == "arm64" and self.platform_version not in (
            "LATEST",
            *FARGATE_ARM64_MIN_PLATFORM,
        ):
            raise ValueError(
                f"platform_version {self.platform_version!r}: ARM64 tasks (on FARGATE and"
                f" FARGATE_SPOT) need platform version {FARGATE_ARM64_MIN_PLATFORM[0]} or later;"
                f' use "LATEST" or "{FARGATE_ARM64_MIN_PLATFORM[0]}", or architecture "x86_64"'
            )
        return self

    @property
    def routed(self) -> bool:
        """Behind a rule (or the catch-all) of the shared ALB, with a target group."""
        return self.kind == "web"

    @property
    def listens(self) -> bool:
        """Takes requests on container_port: web from the ALB, backend from the environment."""
        return self.kind in ("web", "backend")

    @property
    def runs_sample_image(self) -> bool:
        return self.image is None

    @property
    def builds_image(self) -> bool:
        """Built by `push` into the service's ECR repository (not an image.uri)."""
        return self.image is None or self.image.build is not None

    @property
    def drain_seconds(self) -> int:
        """How long the service may drain after SIGTERM: finish before ECS's SIGKILL."""
        return max(1, self.stop_timeout_seconds - 2)

    @property
    def scales_to_zero(self) -> bool:
        """Scheduled off-hours or min_tasks 0: zero tasks is normal, not an outage."""
        return self.schedule is not None or self.scaling.min_tasks == 0

    @property
    def spot_share(self) -> float:
        """Fraction of the minimum task count that runs on Fargate Spot."""
        tasks = max(self.scaling.min_tasks, 1)
        if not self.capacity.spot:
            return 0.0
        return max(tasks - self.capacity.on_demand_base, 0) / tasks
