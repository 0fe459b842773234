"""The one typed, validated model of everything tunable in an environment.

Stacks, the local rehearsal, the cost model and the docs read their numbers from here; nothing
else holds a default. Environments live in ``environments/NAME.toml``: shared settings at the
top, one ``[services.NAME]`` table per service.
"""

from fargate_env.config.cost import CostConfig, UsageAssumptions
from fargate_env.config.deployment import DeploymentConfig
from fargate_env.config.environment import (
    COST_TAG,
    PLACEHOLDER_ACCOUNT,
    ClusterConfig,
    EnvironmentConfig,
    RegistryConfig,
    Route,
    is_preview_stack,
    service_of_stack,
)
from fargate_env.config.limits import (
    FARGATE_SIZES,
    LOG_RETENTION_DAYS,
    MAX_BUDGET_EMAILS,
    TLS_POLICIES,
)
from fargate_env.config.load_balancer import AccessLogsConfig, LoadBalancerConfig
from fargate_env.config.loading import (
    DEFAULT_ENV,
    ENVIRONMENTS_DIR,
    ConfigError,
    load_config,
    parse_config,
    resolve_env_path,
    select_service,
)
from fargate_env.config.monitoring import MonitoringConfig, ThresholdsConfig
from fargate_env.config.network import FlowLogsConfig, NetworkConfig
from fargate_env.config.ops import OpsConfig
from fargate_env.config.previews import PreviewsConfig, format_ttl, parse_ttl
from fargate_env.config.service import (
    CapacityConfig,
    HealthCheckConfig,
    RoutingConfig,
    ScalingConfig,
    ScheduleConfig,
    ServiceConfig,
)

__all__ = [
    "COST_TAG",
    "DEFAULT_ENV",
    "ENVIRONMENTS_DIR",
    "FARGATE_SIZES",
    "LOG_RETENTION_DAYS",
    "MAX_BUDGET_EMAILS",
    "PLACEHOLDER_ACCOUNT",
    "TLS_POLICIES",
    "AccessLogsConfig",
    "CapacityConfig",
    "ClusterConfig",
    "ConfigError",
    "CostConfig",
    "DeploymentConfig",
    "EnvironmentConfig",
    "FlowLogsConfig",
    "HealthCheckConfig",
    "LoadBalancerConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "OpsConfig",
    "PreviewsConfig",
    "RegistryConfig",
    "Route",
    "RoutingConfig",
    "ScalingConfig",
    "ScheduleConfig",
    "ServiceConfig",
    "ThresholdsConfig",
    "UsageAssumptions",
    "format_ttl",
    "is_preview_stack",
    "load_config",
    "parse_config",
    "parse_ttl",
    "resolve_env_path",
    "select_service",
    "service_of_stack",
]
