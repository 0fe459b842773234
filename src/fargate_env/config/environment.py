"""The environment: what its services share, the services themselves, and the rules that span
them (routes, listener-rule priorities, ALB quotas)."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from fargate_env.config.base import Section
from fargate_env.config.cost import CostConfig
from fargate_env.config.limits import (
    ALB_RULES,
    ALB_TARGET_GROUPS,
    CLOUDFRONT_CERTIFICATE_REGION,
    CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS,
    REGIONS,
    TAGS_PER_RESOURCE,
    partition,
)
from fargate_env.config.load_balancer import LoadBalancerConfig
from fargate_env.config.matching import any_meet, certificate_covers
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
    Tags,
    pattern,
)

# Stack names: shared "<env>-<part>", a service's "<env>-service-<name>", a preview's
# "<env>-preview-<name>" (the shared "<env>-previews" is not one).
SERVICE_STACK_MARK = "-service-"
PREVIEW_STACK_MARK = "-preview-"


def service_of_stack(stack: str, environment: str | None = None) -> str | None:
    """The service a stack name holds ("<env>-service-<name>"), None for any other stack
    (or, with `environment`, for another environment's)."""
    env, mark, name = stack.partition(SERVICE_STACK_MARK)
    if not mark or (environment is not None and env != environment):
        return None
    return name


def is_preview_stack(stack: str) -> bool:
    return PREVIEW_STACK_MARK in stack


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


CloudMapNamespace = Annotated[
    str, pattern(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$", "a DNS namespace like internal.local")
]


class ClusterConfig(Section):
    container_insights: bool = False
    cloud_map_namespace: CloudMapNamespace | None = None


@dataclass(frozen=True)
class Route:
    """One listener rule: which service, its priority, and what it matches."""

    service: str
    priority: int
    hosts: tuple[str, ...]
    paths: tuple[str, ...]
    catch_all: bool = False
    # (name, value): a deployment's test rule, matched only with this header.
    header: tuple[str, str] | None = None

    @property
    def priority_field(self) -> str:
        """The config field that moves this rule's priority."""
        return "deployment.test_rule_priority" if self.header else "routing.priority"

    def covers(self, other: Route) -> bool:
        """Whether every request `other` matches also matches this rule (wildcards honoured)."""

        if self.header is not None and self.header != other.header:
            return False  # a test rule matches only requests that carry its header

        def within(mine: tuple, theirs: tuple) -> bool:
            return not mine or (
                bool(theirs) and all(any(fnmatch.fnmatchcase(t, m) for m in mine) for t in theirs)
            )

        return within(self.hosts, other.hosts) and within(self.paths, other.paths)


class EnvironmentConfig(Section):
    name: EnvironmentName
    region: Region
    account: AccountId | None = None
    tags: Tags = {}
    network: NetworkConfig = NetworkConfig()
    registry: RegistryConfig = RegistryConfig()
    load_balancer: LoadBalancerConfig
    cluster: ClusterConfig = ClusterConfig()
    # Checked even when absent: no [services] table is one line, not a failure deep in CDK.
    services: dict[ServiceName, ServiceConfig] = Field({}, validate_default=True)
    monitoring: MonitoringConfig = MonitoringConfig()
    cost: CostConfig = CostConfig()
    ops: OpsConfig = OpsConfig()
    previews: PreviewsConfig = PreviewsConfig()

    @field_validator("services")
    @classmethod
    def _services(cls, value: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        if not value:
            raise ValueError("declare at least one [services.NAME]")
        defaults = [name for name, svc in value.items() if svc.routing.default]
        if len(defaults) > 1:
            raise ValueError(
                f"{defaults[0]} and {defaults[1]} both set routing.default = true;"
                " the listener has one catch-all"
            )
        # The catch-all is explicit only: even a lone service without a route would otherwise
        # silently take every request of the public listener.
        unrouted = [
            n
            for n, s in value.items()
            if s.routed and not s.routing.has_rule and not s.routing.default
        ]
        if unrouted:
            raise ValueError(
                f"{unrouted[0]}: no route; set routing.path_patterns or routing.host_headers,"
                " or routing.default = true for every request no other rule matches"
            )
        if (routed := sum(s.routed for s in value.values())) > ALB_TARGET_GROUPS:
            raise ValueError(
                f"{routed} web services: an ALB holds at most {ALB_TARGET_GROUPS} target groups"
                " (ALB quota, not adjustable); split the environment"
            )
        return value

    @model_validator(mode="after")
    def _cross_section(self) -> EnvironmentConfig:
        azs = self.network.availability_zones
        if azs is not None and (
            len(azs) != self.network.max_azs
            or len(set(azs)) != len(azs)
            or not all(re.fullmatch(rf"{self.region}[a-z]", az) for az in azs)
        ):
            raise ValueError(
                f"network.availability_zones must list {self.network.max_azs} zones of"
                f" {self.region} (got {azs})"
            )
        repos = Counter(self.repository_name(n) for n, s in self.services.items() if s.builds_image)
        if clash := [r for r, n in repos.items() if n > 1]:
            raise ValueError(f"services: two services use the ECR repository {clash[0]!r}")
        for name, svc in self.services.items():
            self._check_deployment(name, svc)
        self._check_routes(self.routes() + self.test_routes())
        self._check_hosts_have_certificate()
        self._check_overlaps()
        self._check_preview_priorities()
        if self.load_balancer.is_cloudfront:
            self._check_cloudfront()
        self._check_arns()
        self._check_tags()
        stored = type(self.cost.usage).model_fields["log_stored_gb"].default
        if self.cost.usage.log_stored_gb != stored:
            raise ValueError(
                "cost.usage.log_stored_gb: prices only log groups that never expire, and every"
                " log group here has a retention (services.*.log_retention_days,"
                " network.flow_logs.retention_days); remove it, it would be ignored"
            )
        return self

    def _check_cloudfront(self) -> None:
        """What a CloudFront VPC origin in front of an internal ALB needs of the rest."""
        lb = self.load_balancer
        if lb.preview_domain:
            # The previews stack puts their wildcard certificate and record on the ALB, which is
            # internal and plain HTTP here: a preview host would never be reached.
            raise ValueError(
                "load_balancer.preview_domain: previews are reached by host name on the"
                ' internet-facing ALB; with edge = "cloudfront" no preview host reaches it:'
                ' remove preview_domain (and the preview zone), or use edge = "alb"'
            )
        if self.region.startswith("cn-") or "-gov-" in self.region:
            raise ValueError(
                f"load_balancer.edge: CloudFront VPC origins are not offered in {self.region};"
                ' use edge = "alb"'
            )
        if self.origin_prefix_list_id is None:
            raise ValueError(
                "load_balancer.cloudfront.origin_prefix_list_id: no known id of the prefix list"
                f" com.amazonaws.global.cloudfront.origin-facing in {self.region}; set it (aws"
                " ec2 describe-managed-prefix-lists)"
            )
        if lb.certificate_mode == "dns-validated" and self.region != CLOUDFRONT_CERTIFICATE_REGION:
            raise ValueError(
                f"load_balancer.domain_name: CloudFront needs its certificate in"
                f" {CLOUDFRONT_CERTIFICATE_REGION} but this environment is in {self.region};"
                f" issue it in {CLOUDFRONT_CERTIFICATE_REGION} and set certificate_arn"
            )
        for name, svc in self.services.items():
            for host in svc.routing.host_headers:
                if lb.domain_name is None:
                    raise ValueError(
                        f'services.{name}.routing.host_headers: with edge = "cloudfront" and no'
                        " load_balancer.domain_name every request carries the distribution's"
                        " own host name, so a host rule never matches; route by path"
                    )
                if not fnmatch.fnmatchcase(lb.domain_name, host):
                    raise ValueError(
                        f"services.{name}.routing.host_headers: {host!r} never reaches the ALB;"
                        f" the distribution answers only for {lb.domain_name}"
                    )

    @property
    def origin_prefix_list_id(self) -> str | None:
        """CloudFront's origin-facing prefix list in this region (the internal ALB's source)."""
        return self.load_balancer.cloudfront.origin_prefix_list_id or (
            CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS.get(self.region)
        )

    @property
    def alb_in_private_subnets(self) -> bool:
        """An internal ALB (edge cloudfront) sits in private subnets; with public egress the
        network adds isolated ones (no route to the internet) for it alone."""
        return self.load_balancer.is_cloudfront

    def _check_deployment(self, name: str, svc: ServiceConfig) -> None:
        strategy = svc.deployment.strategy
        if not svc.deployment.shifts_traffic:
            return
        field = f"services.{name}.deployment.strategy"
        if self.load_balancer.certificate_mode == "http-only":
            raise ValueError(
                f"{field}: {strategy!r} needs the HTTPS listener; this environment is HTTP only"
                " (load_balancer.allow_http_only): use 'rolling' or add a certificate"
            )
        rules = self.service_routes(name)
        if len(rules) != 1:
            raise ValueError(
                f"{field}: {strategy!r} shifts traffic on one listener rule; {name} has"
                f" {len(rules)} (its routes and the catch-all): drop routing.default or the"
                " routes, or use 'rolling'"
            )
        test = svc.deployment.test_rule_priority
        if test is not None and test >= rules[0].priority:
            raise ValueError(
                f"services.{name}.deployment.test_rule_priority ({test}) must be below the"
                f" production rule's priority ({rules[0].priority}): the ALB takes the lowest"
                " first, and the test header would never be matched"
            )
        if test is None and rules[0].priority == 1:
            raise ValueError(
                f"services.{name}: the production rule has priority 1, so the test rule has"
                " none below it; set deployment.test_rule_priority or routing.priority"
            )

    def _check_arns(self) -> None:
        """ARNs must name this environment's partition and real regions; the ALB's certificate
        must live in the ALB's own region (and account, when the account is known)."""
        arns = [("load_balancer.certificate_arn", self.load_balancer.certificate_arn)]
        for name, svc in self.services.items():
            arns += [(f"services.{name}.secret_kms_keys", key) for key in svc.secret_kms_keys]
            arns += [
                (f"services.{name}.secrets.{var}", ref)
                for var, ref in svc.secrets.items()
                if ref.startswith("arn:")
            ]
        for field, arn in arns:
            if arn is None:
                continue
            _, part, _, region, account, _ = arn.split(":", 5)
            if region not in REGIONS:
                raise ValueError(f"{field}: {region!r} in {arn!r} is not an AWS region")
            if part != partition(self.region):
                raise ValueError(
                    f"{field}: partition {part!r} cannot be used in {self.region}"
                    f" (partition {partition(self.region)!r})"
                )
        cert = self.load_balancer.certificate_arn
        # With edge = "cloudfront" the certificate is CloudFront's (us-east-1, checked there).
        if cert and not self.load_balancer.is_cloudfront:
            _, _, _, region, account, _ = cert.split(":", 5)
            if region != self.region:
                raise ValueError(
                    f"load_balancer.certificate_arn: the certificate is in {region}; an ALB in"
                    f" {self.region} can only use an ACM certificate of {self.region}"
                )
            if self.account and account not in (self.account, PLACEHOLDER_ACCOUNT):
                raise ValueError(
                    f"load_balancer.certificate_arn: the certificate belongs to account"
                    f" {account}; the ALB in account {self.account} cannot use it"
                )

    def _check_tags(self) -> None:
        # The stacks' own tags; [tags] may override them (the budget filters on the result).
        own = {COST_TAG: self.name, "managed-by": "fargate-env"}
        if len(own | self.tags) > TAGS_PER_RESOURCE:
            raise ValueError(
                f"tags: {len(own | self.tags)} tags with the stacks' own {', '.join(own)};"
                f" AWS allows at most {TAGS_PER_RESOURCE} per resource"
            )

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
                    f" also {other.service}'s; set {route.priority_field} or"
                    f" {other.priority_field} of {other.service}"
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

    def overlaps(self) -> list[tuple[Route, Route]]:
        """Pairs of rules of two services that one request can match (a host rule and a path
        rule, say), first the one the ALB evaluates first (the lower priority)."""
        routes = sorted((r for r in self.routes() if not r.catch_all), key=lambda r: r.priority)
        return [
            (a, b)
            for i, a in enumerate(routes)
            for b in routes[i + 1 :]
            if a.service != b.service and any_meet(a.hosts, b.hosts) and any_meet(a.paths, b.paths)
        ]

    def _check_overlaps(self) -> None:
        """Overlapping rules are evaluated by priority; a priority derived from the names is
        an accident, so one of the two must say routing.priority."""
        for a, b in self.overlaps():
            explicit = [r for r in (a, b) if self.services[r.service].routing.priority is not None]
            if not explicit:
                raise ValueError(
                    f"services.{a.service} ({', '.join(a.hosts + a.paths)}) and"
                    f" services.{b.service} ({', '.join(b.hosts + b.paths)}) can match the same"
                    f" request; the ALB tries {a.service} first only because its priority"
                    f" {a.priority} derived from its name is below {b.priority}: set"
                    " routing.priority on one of them to settle the order"
                )

    def _check_hosts_have_certificate(self) -> None:
        """A host route on HTTPS needs a certificate name that covers it."""
        lb = self.load_balancer
        if lb.is_cloudfront or lb.certificate_mode not in ("imported", "dns-validated"):
            return  # cloudfront: _check_cloudfront; HTTP only: no certificate involved
        names = lb.certificate_names if lb.certificate_arn else [lb.domain_name or ""]
        for name, svc in self.services.items():
            for host in svc.routing.host_headers:
                if any(certificate_covers(n, host) for n in names):
                    continue
                field = f"services.{name}.routing.host_headers: {host!r}"
                if lb.certificate_arn and not names:
                    raise ValueError(
                        f"{field} needs a certificate that covers it, and an imported"
                        " certificate's names cannot be read offline: list them in"
                        " load_balancer.certificate_names"
                    )
                fix = (
                    "add it to the certificate and to load_balancer.certificate_names"
                    if lb.certificate_arn
                    else "set load_balancer.domain_name to it, or import a certificate that"
                    " covers it (certificate_arn, certificate_names)"
                )
                raise ValueError(
                    f"{field} is not covered by the certificate ({', '.join(names)}), so HTTPS"
                    f" there can never work: {fix}; or route by path"
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

    def test_routes(self) -> list[Route]:
        """Each traffic-shifting service's test rule: its one route plus the test header, one
        priority below the production rule (or deployment.test_rule_priority), so requests
        with the header reach the new revision before production traffic does."""
        tests = []
        for name, svc in self.services.items():
            dep = svc.deployment
            rules = self.service_routes(name)
            if not dep.shifts_traffic or len(rules) != 1:
                continue
            prod = rules[0]
            tests.append(
                Route(
                    name,
                    dep.test_rule_priority or prod.priority - 1,
                    prod.hosts,
                    prod.paths,
                    header=(dep.test_header, dep.test_header_value),
                )
            )
        return tests

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
            if svc.routing.default:
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
        return f"{self.name}{SERVICE_STACK_MARK}{service}"

    def preview_stack_name(self, preview: str) -> str:
        return f"{self.name}{PREVIEW_STACK_MARK}{preview}"

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
