"""The one typed, validated model of everything tunable in an environment.

Stacks, the local rehearsal, the cost model and the docs read their numbers from here; nothing
else holds a default. Environments live in ``environments/NAME.toml``.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENVIRONMENTS_DIR = Path("environments")
DEFAULT_ENV = "demo"

# The tag every stack carries with the environment's name; the budget filters on it.
COST_TAG = "environment"

# An account id that can never be real: configs that still hold it are demo placeholders.
PLACEHOLDER_ACCOUNT = "000000000000"

# Values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)

# Fargate task sizes: cpu units -> allowed memory MiB (AWS ECS developer guide, task sizes).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}

# TLS policies that offer TLS 1.3 and 1.2 only (ELB docs, "Security policies").
TLS_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
)

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
_ECR_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_CERT_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
_ZONE_ID_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_SECRET_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
)
_SSM_NAME_RE = re.compile(r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AWS_CRON_RE = re.compile(r"^cron\(([^()]+)\)$")


class ConfigError(Exception):
    """A user mistake in an environment file; str() is the one line to show."""


def _account(value: str) -> str:
    if not _ACCOUNT_RE.match(value):
        raise ValueError(f"must be a 12-digit AWS account id (got {value!r})")
    return value


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"must be one of CloudWatch's retention values: {allowed} (got {value})")
    return value


def _between(lo: int, hi: int) -> AfterValidator:
    """An inclusive range whose error names both ends (pydantic's names only the one crossed)."""

    def check(value: int) -> int:
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi} (got {value})")
        return value

    return AfterValidator(check)


AccountId = Annotated[str, AfterValidator(_account)]
RetentionDays = Annotated[int, AfterValidator(_log_retention)]
RemovalPolicy = Literal["retain", "destroy"]


def _validate_aws_cron(expr: str) -> str:
    """Check the shape of an EventBridge/Application Auto Scaling cron(...) expression.

    Six fields: minutes hours day-of-month month day-of-week year; exactly one of day-of-month
    and day-of-week must be '?'.
    """
    match = _AWS_CRON_RE.match(expr.strip())
    fields = match.group(1).split() if match else []
    if len(fields) != 6:
        raise ValueError(
            "must be an AWS cron expression 'cron(min hour day-of-month month day-of-week year)',"
            f" e.g. 'cron(0 20 ? * MON-FRI *)' (got {expr!r})"
        )
    minute, hour, dom, month, dow, year = fields
    checks = [
        (minute, r"^(\*|\d{1,2}([,-/]\d{1,2})*|\*/\d{1,2})$", "minutes"),
        (hour, r"^(\*|\d{1,2}([,-/]\d{1,2})*|\*/\d{1,2})$", "hours"),
        (dom, r"^(\?|\*|L|W|\d{1,2}W?([,-/]\d{1,2})*|\*/\d{1,2})$", "day-of-month"),
        (month, r"^(\*|[0-9A-Za-z]{1,3}([,-/][0-9A-Za-z]{1,3})*|\*/\d{1,2})$", "month"),
        (dow, r"^(\?|\*|[1-7A-Za-z]{1,3}([,-/#][1-7A-Za-z]{1,3})*L?)$", "day-of-week"),
        (year, r"^(\*|\d{4}([,-/]\d{1,4})*)$", "year"),
    ]
    for value, pattern, label in checks:
        if not re.match(pattern, value):
            raise ValueError(f"has an invalid {label} field {value!r} in {expr!r}")
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"needs '?' in exactly one of day-of-month and day-of-week (got {expr!r})")
    if (minute.isdigit() and int(minute) > 59) or (hour.isdigit() and int(hour) > 23):
        raise ValueError(f"has an out-of-range minute or hour in {expr!r}")
    return expr.strip()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlowLogsConfig(_Section):
    # On by default: only REJECT records are kept, which costs cents a month on a quiet VPC.
    enabled: bool = True
    retention_days: RetentionDays = 14


class NetworkConfig(_Section):
    cidr: str = "10.40.0.0/20"
    max_azs: int = Field(2, ge=2, le=3)
    # Explicit AZs let a stack with a concrete account synthesize without a credentials lookup.
    availability_zones: list[str] | None = None
    egress: Literal["nat-gateway", "nat-instance", "public"] = "nat-gateway"
    nat_instance_type: str = "t4g.nano"
    # Root volume of the NAT instance (encrypted gp3); AL2023 needs at least 8 GiB.
    nat_instance_volume_gb: int = Field(8, ge=8, le=64)
    flow_logs: FlowLogsConfig = FlowLogsConfig()

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"must be an IPv4 network like 10.40.0.0/20 (got {value!r})") from exc
        if not 16 <= net.prefixlen <= 24:
            raise ValueError(f"must have a prefix between /16 and /24 (got /{net.prefixlen})")
        return value

    @field_validator("nat_instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", value):
            raise ValueError(f"must be an EC2 instance type like t4g.nano (got {value!r})")
        return value


class RegistryConfig(_Section):
    # None: "<environment name>/sample-server".
    repository_name: str | None = None
    keep_tagged_images: int = Field(10, ge=1, le=1000)
    untagged_expiry_days: int = Field(7, ge=1, le=365)
    pull_accounts: list[AccountId] = []
    removal_policy: RemovalPolicy = "retain"

    @field_validator("repository_name")
    @classmethod
    def _repo_name(cls, value: str | None) -> str | None:
        if value is not None and not (2 <= len(value) <= 256 and _ECR_NAME_RE.match(value)):
            raise ValueError(
                "must be 2-256 lowercase letters, digits and . _ - / (ECR naming rules)"
                f" (got {value!r})"
            )
        return value


class HealthCheckConfig(_Section):
    """The target group's check (load balancer) and the container's check (ECS)."""

    path: str = "/health"
    interval_seconds: Annotated[int, _between(5, 300)] = 10
    timeout_seconds: Annotated[int, _between(2, 120)] = 5
    healthy_threshold: Annotated[int, _between(2, 10)] = 2
    unhealthy_threshold: Annotated[int, _between(2, 10)] = 2
    matcher: str = "200"
    # The sample service drains in well under a second; AWS's default of 300 s wastes deploys.
    deregistration_delay_seconds: Annotated[int, _between(0, 3600)] = 10
    container_interval_seconds: Annotated[int, _between(5, 300)] = 10
    container_timeout_seconds: Annotated[int, _between(2, 60)] = 5
    container_retries: Annotated[int, _between(1, 10)] = 3
    container_start_period_seconds: Annotated[int, _between(0, 300)] = 10

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or len(value) > 1024 or " " in value:
            raise ValueError(f"must start with '/' and hold no spaces (got {value!r})")
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

    @property
    def detection_seconds(self) -> int:
        """How long the load balancer takes to stop routing to a dead target."""
        return self.interval_seconds * self.unhealthy_threshold

    @property
    def deploy_overhead_seconds(self) -> int:
        """Load-balancer time per rolling-deploy step: register healthy, then drain the old."""
        return self.interval_seconds * self.healthy_threshold + self.deregistration_delay_seconds


class AccessLogsConfig(_Section):
    expiry_days: int = Field(30, ge=1, le=3650)
    removal_policy: RemovalPolicy = "retain"


class LoadBalancerConfig(_Section):
    certificate_arn: str | None = None
    domain_name: str | None = None
    hosted_zone_id: str | None = None
    hosted_zone_name: str | None = None
    allow_http_only: bool = False
    ssl_policy: Literal[TLS_POLICIES] = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # type: ignore[valid-type]
    idle_timeout_seconds: Annotated[int, _between(1, 4000)] = 60
    deletion_protection: bool = False
    access_logs: AccessLogsConfig = AccessLogsConfig()

    @field_validator("certificate_arn")
    @classmethod
    def _cert_arn(cls, value: str | None) -> str | None:
        if value is not None and not _CERT_ARN_RE.match(value):
            raise ValueError(
                "must be an ACM certificate ARN like"
                f" arn:aws:acm:REGION:ACCOUNT:certificate/UUID (got {value!r})"
            )
        return value

    @field_validator("domain_name", "hosted_zone_name")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not _DOMAIN_RE.match(value.rstrip(".")):
            raise ValueError(f"must be a lowercase DNS name like app.example.com (got {value!r})")
        return value.rstrip(".") if value else value

    @field_validator("hosted_zone_id")
    @classmethod
    def _zone_id(cls, value: str | None) -> str | None:
        if value is not None and not _ZONE_ID_RE.match(value):
            raise ValueError(
                f"must be a Route 53 hosted zone id like Z0123456789ABC (got {value!r})"
            )
        return value

    @model_validator(mode="after")
    def _certificate_mode(self) -> LoadBalancerConfig:
        dns = (self.domain_name, self.hosted_zone_id, self.hosted_zone_name)
        if self.certificate_arn and any(dns[1:]):
            raise ValueError("set either certificate_arn or the hosted_zone_* fields, not both")
        if any(dns) and not self.certificate_arn and not all(dns):
            raise ValueError(
                "DNS-validated certificates need domain_name, hosted_zone_id and hosted_zone_name"
            )
        if (
            self.domain_name
            and self.hosted_zone_name
            and not (
                self.domain_name == self.hosted_zone_name
                or self.domain_name.endswith("." + self.hosted_zone_name)
            )
        ):
            raise ValueError(
                f"domain_name {self.domain_name!r} is not inside hosted zone"
                f" {self.hosted_zone_name!r}"
            )
        if not self.certificate_arn and not self.domain_name and not self.allow_http_only:
            raise ValueError(
                "needs certificate_arn, or domain_name + hosted_zone_id + hosted_zone_name,"
                " or allow_http_only = true for an unencrypted HTTP-only environment"
            )
        return self

    @property
    def certificate_mode(self) -> Literal["imported", "dns-validated", "http-only"]:
        if self.certificate_arn:
            return "imported"
        if self.domain_name:
            return "dns-validated"
        return "http-only"


class CapacityConfig(_Section):
    # Spot is about 70 % cheaper and the 2-minute interruption warning is fine for non-prod.
    spot: bool = True
    # Tasks always placed on on-demand FARGATE before any Spot share.
    on_demand_base: int = Field(0, ge=0, le=10)


class ScalingConfig(_Section):
    min_tasks: Annotated[int, _between(0, 10)] = 1
    max_tasks: int = Field(4, ge=1)
    cpu_target_percent: Annotated[int, _between(10, 90)] = 60
    memory_target_percent: Annotated[int, _between(10, 90)] | None = None
    requests_per_target: Annotated[int, _between(1, 100_000)] | None = None
    scale_in_cooldown_seconds: Annotated[int, _between(0, 3600)] = 120
    scale_out_cooldown_seconds: Annotated[int, _between(0, 3600)] = 60

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


class ScheduleConfig(_Section):
    """Off-hours scale-to-zero: min = max = 0 at stop, restored at start."""

    timezone: str = "UTC"
    stop: str = "cron(0 20 ? * MON-FRI *)"
    start: str = "cron(0 7 ? * MON-FRI *)"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"must be an IANA timezone like Europe/Berlin (got {value!r})"
            ) from exc
        if value not in available_timezones() and value != "UTC":
            raise ValueError(f"must be an IANA timezone like Europe/Berlin (got {value!r})")
        return value

    @field_validator("stop", "start")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _validate_aws_cron(value)


class ServiceConfig(_Section):
    cpu: int = 256
    memory: int = 512
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    container_port: Annotated[int, _between(1, 65535)] = 8080
    # The sample image's non-root user (server/Dockerfile); the task definition repeats it.
    container_user: str = "10001"
    # The sample server writes only to /tmp, which the task mounts as a task-local volume.
    read_only_root_filesystem: bool = True
    image_tag: str = "initial"
    environment: dict[str, str] = {}
    # Environment variable name -> Secrets Manager secret ARN or SSM parameter name.
    secrets: dict[str, str] = {}
    log_retention_days: RetentionDays = 14
    health_check_grace_period_seconds: int = Field(30, ge=0, le=2_147_483_647)
    # Fargate allows up to 120 s; the sample service drains in well under this.
    stop_timeout_seconds: int = Field(30, ge=2, le=120)
    container_insights: bool = False
    enable_exec: bool = False
    cloud_map_namespace: str | None = None
    capacity: CapacityConfig = CapacityConfig()
    scaling: ScalingConfig = ScalingConfig()
    schedule: ScheduleConfig | None = None

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
        if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", value):
            raise ValueError(f"must be a Docker tag: letters, digits, _ . - (got {value!r})")
        return value

    @field_validator("environment")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_VAR_RE.match(name):
                raise ValueError(f"has an invalid environment variable name {name!r}")
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not _ENV_VAR_RE.match(name):
                raise ValueError(f"has an invalid environment variable name {name!r}")
            if not (_SECRET_ARN_RE.match(ref) or (_SSM_NAME_RE.match(ref) and ":" not in ref)):
                raise ValueError(
                    f"{name}: must be a Secrets Manager secret ARN"
                    " (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or an SSM parameter"
                    f" name like /app/db-password (got {ref!r})"
                )
        return value

    @field_validator("cloud_map_namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if (
            value is not None
            and not _DOMAIN_RE.match(value)
            and not re.match(r"^[a-z0-9-]+$", value)
        ):
            raise ValueError(f"must be a DNS namespace like internal.local (got {value!r})")
        return value

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
        if self.architecture == "arm64" and self.capacity.spot:
            raise ValueError(
                "capacity.spot must be false with architecture 'arm64':"
                " AWS does not offer Fargate Spot on ARM64"
            )
        return self

    @property
    def drain_seconds(self) -> int:
        """How long the service may drain after SIGTERM: finish before ECS's SIGKILL."""
        return max(1, self.stop_timeout_seconds - 2)

    @property
    def spot_share(self) -> float:
        """Fraction of the minimum task count that runs on Fargate Spot."""
        tasks = max(self.scaling.min_tasks, 1)
        if not self.capacity.spot:
            return 0.0
        return max(tasks - self.capacity.on_demand_base, 0) / tasks


class ThresholdsConfig(_Section):
    period_seconds: Literal[60, 300] = 60
    target_5xx_count: int = Field(5, ge=1)
    alb_5xx_count: int = Field(5, ge=1)
    unhealthy_periods: Annotated[int, _between(1, 60)] = 3
    p95_latency_seconds: float = Field(1.0, gt=0, le=60)
    cpu_percent: Annotated[int, _between(1, 100)] = 85
    memory_percent: Annotated[int, _between(1, 100)] = 85
    evaluation_periods: Annotated[int, _between(1, 60)] = 3


# AWS Budgets accepts at most 10 e-mail subscribers per notification (Budgets quotas).
MAX_BUDGET_EMAILS = 10


class MonitoringConfig(_Section):
    emails: list[str] = []
    dashboard: bool = True
    thresholds: ThresholdsConfig = ThresholdsConfig()
    # Budget notifications: share of cost.monthly_budget_usd (actual spend, forecast spend).
    budget_actual_percent: Annotated[int, _between(1, 1000)] = 80
    budget_forecast_percent: Annotated[int, _between(1, 1000)] = 100

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not _EMAIL_RE.match(email):
                raise ValueError(f"has a malformed e-mail address {email!r}")
        # The budget lists each address as a subscriber: duplicates and an 11th are API errors.
        duplicates = sorted({e for e in value if value.count(e) > 1})
        if duplicates:
            raise ValueError(f"lists {duplicates[0]!r} more than once")
        if len(value) > MAX_BUDGET_EMAILS:
            raise ValueError(
                f"holds {len(value)} addresses; AWS Budgets notifies at most {MAX_BUDGET_EMAILS}"
            )
        return value


class UsageAssumptions(_Section):
    """Usage the templates cannot tell; printed with every bill."""

    log_ingest_gb_month: float = Field(1.0, ge=0)
    # Stored GB of a log group that never expires; with a retention, cost derives it from ingest.
    log_stored_gb: float = Field(1.0, ge=0)
    flow_log_ingest_gb_month: float = Field(0.5, ge=0)
    # Average load-balancer capacity units; a quiet non-prod ALB stays well below one.
    alb_lcu: float = Field(0.1, ge=0)
    nat_processed_gb_month: float = Field(5.0, ge=0)
    ecr_storage_gb: float = Field(1.0, ge=0)
    access_log_storage_gb: float = Field(0.5, ge=0)


class CostConfig(_Section):
    monthly_budget_usd: float = Field(60.0, gt=0, le=100_000)
    usage: UsageAssumptions = UsageAssumptions()


class OpsConfig(_Section):
    """Bounds and pacing of the operations commands against a deployed environment."""

    # verify: how long GET <url><health path> may take before the check fails.
    http_timeout_seconds: float = Field(5.0, gt=0, le=60)
    # How often failover/scale-test/verify poll ECS and the target group.
    poll_interval_seconds: float = Field(5.0, gt=0, le=60)
    # Fargate provisioning + image pull + process start of a replacement task; failover's bound
    # adds the container start period and healthy_threshold x interval to this.
    task_launch_seconds: int = Field(90, ge=10, le=900)
    # `load` refuses longer or bigger runs: it is a probe, not a load-testing service.
    load_max_duration_seconds: int = Field(600, ge=1, le=3600)
    load_max_requests: int = Field(1_000_000, ge=1, le=100_000_000)
    # scale-test: CPU burned per /cpu request, concurrent connections, default load phase, and
    # how long to wait for scale-in (target tracking scales in after 15 low minutes + cooldown).
    scale_test_cpu_ms: int = Field(200, ge=1, le=1000)
    scale_test_connections: int = Field(16, ge=1, le=256)
    scale_test_load_seconds: int = Field(420, ge=10, le=3600)
    scale_in_wait_seconds: int = Field(1200, ge=0, le=3600)
    # rightsize: keep p95 utilisation under this share of the new size; judge only with at least
    # min_datapoints periods of period_seconds (default: one day of 5-minute points).
    rightsize_headroom_percent: int = Field(70, ge=10, le=95)
    rightsize_period_seconds: Literal[60, 300, 3600] = 300
    rightsize_min_datapoints: int = Field(288, ge=1, le=100_000)


class EnvironmentConfig(_Section):
    name: str
    region: str
    account: AccountId | None = None
    tags: dict[str, str] = {}
    network: NetworkConfig = NetworkConfig()
    registry: RegistryConfig = RegistryConfig()
    load_balancer: LoadBalancerConfig
    health_check: HealthCheckConfig = HealthCheckConfig()
    service: ServiceConfig = ServiceConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    cost: CostConfig = CostConfig()
    ops: OpsConfig = OpsConfig()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                "must be 2-20 characters: a lowercase letter, then lowercase letters, digits, -"
                f" (got {value!r})"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION_RE.match(value):
            raise ValueError(f"must be an AWS region like us-east-1 (got {value!r})")
        return value

    @model_validator(mode="after")
    def _cross_section(self) -> EnvironmentConfig:
        azs = self.network.availability_zones
        if azs is not None and (
            len(azs) != self.network.max_azs or not all(az.startswith(self.region) for az in azs)
        ):
            raise ValueError(
                f"network.availability_zones must list {self.network.max_azs} zones of"
                f" {self.region} (got {azs})"
            )
        return self

    @property
    def repository_name(self) -> str:
        return self.registry.repository_name or f"{self.name}/sample-server"

    @property
    def availability_zones(self) -> list[str]:
        return self.network.availability_zones or [
            f"{self.region}{suffix}" for suffix in "abc"[: self.network.max_azs]
        ]

    @property
    def stack_tags(self) -> dict[str, str]:
        """Tags on every stack; COST_TAG is the cost-allocation tag the budget filters on."""
        return {COST_TAG: self.name, "managed-by": "fargate-env", **self.tags}

    def stack_name(self, part: str) -> str:
        """CloudFormation stack name of one of the five stacks."""
        return f"{self.name}-{part}"

    def placeholders(self) -> list[str]:
        """Fields that still hold demo placeholders (commands that reach AWS refuse them)."""
        found = []
        if self.account is None or self.account == PLACEHOLDER_ACCOUNT:
            found.append("account")
        if self.load_balancer.certificate_arn and f":{PLACEHOLDER_ACCOUNT}:" in (
            self.load_balancer.certificate_arn
        ):
            found.append("load_balancer.certificate_arn")
        if PLACEHOLDER_ACCOUNT in self.registry.pull_accounts:
            found.append("registry.pull_accounts")
        return found


def resolve_env_path(env: str | None = None, env_file: Path | None = None) -> Path:
    """`--env NAME` means environments/NAME.toml; `--env-file PATH` any file."""
    if env_file is not None:
        return env_file
    name = env or DEFAULT_ENV
    if not re.match(r"^[A-Za-z0-9_.-]+$", name):
        raise ConfigError(f"--env {name!r}: use a file name from {ENVIRONMENTS_DIR}/ without .toml")
    return ENVIRONMENTS_DIR / f"{name}.toml"


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{field}: unknown key (check the spelling; see environments/demo.toml)"
    if kind == "missing":
        return f"{field}: required field is missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{field}: {message.lower()} (got {error.get('input')!r})"
    return f"{field}: {message}"


def parse_config(data: dict[str, Any], source: str = "<config>") -> EnvironmentConfig:
    try:
        return EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_describe(errors[0])}{more}") from None


def load_config(path: Path) -> EnvironmentConfig:
    """Read and validate one environment file; every failure is a one-line ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such environment file (use --env NAME for environments/NAME.toml,"
            " or --env-file PATH)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, str(path))
