"""The environment: what its services share, the services themselves, and the rules that span
them (routes, listener-rule priorities, ALB quotas)."""

from __future__ import annotations

import fnmatch
from collections import Counter
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from fargate_env.config.base import Section
from fargate_env.config.cost import CostConfig
from fargate_env.config.limits import ALB_RULES, ALB_TARGET_GROUPS
from fargate_env.config.load_balancer import LoadBalancerConfig
from fargate_env.config.monitoring import MonitoringConfig
from fargate_env.config.network import NetworkConfig
from fargate_env.config.ops import OpsConfig
from fargate_env.config.previews import PreviewsConfig
from fargate_env.config.service import DEFAULT_RULE_PRIORITY, ServiceConfig
from fargate_env.config.types import (
    AccountId,
    EnvironmentName,
    Region,
    RemovalPolicy,
    ServiceName,
)

# The tag every stack carries with the environment's name; the budget filters on it.
COST_TAG = "environment"
# An account id that can never be real: configs that still hold it are demo placeholders.
PLACEHOLDER_ACCOUNT = "000000000000"


class RegistryConfig(Section):
    """Lifecycle rules every service's repository shares."""

    keep_tagged_images: int = Field(10, ge=1, le=1000)
    untagged_expiry_days: int = Field(7, ge=1, le=365)
    pull_accounts: list[AccountId] = []
    removal_policy: RemovalPolicy = "retain"


class ClusterConfig(Section):
    container_insights: bool = False
    cloud_map_namespace: Annotated[str, Field(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")] | None = None


class Route:
    """One listener rule: which service, its priority, and what it matches."""

    def __init__(
        self, service: str, priority: int, hosts: tuple, paths: tuple, catch_all: bool = False
    ) -> None:
        self.service, self.priority, self.hosts, self.paths = service, priority, hosts, paths
        self.catch_all = catch_all

    def covers(self, other: Route) -> bool:
        """Whether every request `other` matches also matches this rule (wildcards honoured)."""

        def within(mine: tuple, theirs: tuple) -> bool:
            return not mine or (
                bool(theirs) and all(any(fnmatch.fnmatchcase(t, m) for m in mine) for t in theirs)
            )

        return within(self.hosts, other.hosts) and within(self.paths, other.paths)


class EnvironmentConfig(Section):
    name: EnvironmentName
    region: Region
    account: AccountId | None = None
    tags: dict[str, str] = {}
    network: NetworkConfig = NetworkConfig()
    registry: RegistryConfig = RegistryConfig()
    load_balancer: LoadBalancerConfig
    cluster: ClusterConfig = ClusterConfig()
    services: dict[ServiceName, ServiceConfig] = {}
    monitoring: MonitoringConfig = MonitoringConfig()
    cost: CostConfig = CostConfig()
    ops: OpsConfig = OpsConfig()
    previews: PreviewsConfig = PreviewsConfig()

    @field_validator("services")
    @classmethod
    def _services(cls, value: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        if not value:
            raise ValueError("declare at least one service: a [services.NAME] table")
        defaults = [name for name, svc in value.items() if svc.routing.default]
        if len(defaults) > 1:
            raise ValueError(
                f"{defaults[0]} and {defaults[1]} both set routing.default = true;"
                " the listener has one catch-all"
            )
        unrouted = [n for n, s in value.items() if not s.routing.has_rule and not s.routing.default]
        if unrouted and len(value) > 1:
            raise ValueError(
                f"{unrouted[0]}: no route; set routing.path_patterns or routing.host_headers,"
                " or routing.default = true"
            )
        if len(value) > ALB_TARGET_GROUPS:
            raise ValueError(
                f"{len(value)} services: an ALB holds at most {ALB_TARGET_GROUPS} target groups"
                " (ALB quota, not adjustable); split the environment"
            )
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
        repos = Counter(self.repository_name(n) for n in self.services)
        if clash := [r for r, n in repos.items() if n > 1]:
            raise ValueError(f"services: two services use the ECR repository {clash[0]!r}")
        self._check_routes(self.routes())
        self._check_preview_priorities()
        return self

    def _check_preview_priorities(self) -> None:
        """Previews take listener-rule priorities 1..previews.max_active, ahead of every
        service rule, so no service's path rule can take a preview host's requests."""
        if not self.load_balancer.preview_domain:
            return
        top = self.previews.max_active
        for route in self.routes():
            if route.priority <= top:
                raise ValueError(
                    f"services.{route.service}: listener-rule priority {route.priority} is in"
                    f" the previews' range 1-{top} (previews.max_active); set"
                    f" routing.priority above {top}"
                )

    @staticmethod
    def _check_routes(routes: list[Route]) -> None:
        if len(routes) > ALB_RULES:
            raise ValueError(
                f"services: {len(routes)} listener rules; an ALB allows {ALB_RULES} by default"
                " (ALB quota: request an increase, or split the environment)"
            )
        by_priority: dict[int, Route] = {}
        for route in routes:
            if route.priority in by_priority:
                other = by_priority[route.priority]
                raise ValueError(
                    f"services.{route.service}: listener-rule priority {route.priority} is"
                    f" also {other.service}'s; set routing.priority on one of them"
                )
            by_priority[route.priority] = route
        for a in routes:
            for b in routes:
                if a is b or a.service == b.service:
                    continue
                if (a.hosts, a.paths) == (b.hosts, b.paths):
                    raise ValueError(
                        f"services.{a.service} and services.{b.service} have the same route"
                        f" ({', '.join(a.hosts + a.paths)})"
                    )
                # ALB takes the lowest priority first: a broad rule must not hide a narrow one.
                if a.covers(b) and a.priority < b.priority and not b.catch_all:
                    raise ValueError(
                        f"services.{a.service} (priority {a.priority}) would take every request"
                        f" of services.{b.service} (priority {b.priority}); give"
                        f" {b.service} a lower routing.priority than {a.service}"
                    )

    def service_endpoint(self, service: str) -> tuple[str | None, str]:
        """(host, path) where a service answers: its first literal host header and path prefix;
        (None, "") for the default service without a rule of its own."""
        for route in self.service_routes(service):
            if route.catch_all:
                continue
            hosts = [h for h in route.hosts if "*" not in h and "?" not in h]
            paths = [p.split("*")[0].split("?")[0].rstrip("/") for p in route.paths]
            return (hosts[0] if hosts else None), (paths[0] if paths else "")
        return None, ""

    def service_routes(self, service: str) -> list[Route]:
        return [route for route in self.routes() if route.service == service]

    def routes(self) -> list[Route]:
        """Every listener rule of the environment, the default service's catch-all last."""
        routes = []
        for name, svc in self.services.items():
            r = svc.routing
            if r.has_rule:
                routes.append(
                    Route(
                        name, r.rule_priority(name), tuple(r.host_headers), tuple(r.path_patterns)
                    )
                )
        if self.default_service:
            routes.append(
                Route(self.default_service, DEFAULT_RULE_PRIORITY, (), ("/*",), catch_all=True)
            )
        return routes

    @property
    def default_service(self) -> str | None:
        """The service requests go to when no rule matches; None: a fixed 404."""
        for name, svc in self.services.items():
            if svc.routing.default or (len(self.services) == 1 and not svc.routing.has_rule):
                return name
        return None

    def repository_name(self, service: str) -> str:
        return self.services[service].repository_name or f"{self.name}/{service}"

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
        """CloudFormation stack name of a shared stack ("network", "platform", ...)."""
        return f"{self.name}-{part}"

    def service_stack_name(self, service: str) -> str:
        return f"{self.name}-service-{service}"

    def preview_stack_name(self, preview: str) -> str:
        return f"{self.name}-preview-{preview}"

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
        zone = self.load_balancer.preview_hosted_zone_id
        if zone and set(zone[1:]) == {"0"}:  # Z000...: the demo's made-up zone
            found.append("load_balancer.preview_hosted_zone_id")
        return found
