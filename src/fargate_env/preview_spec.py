"""What a preview is: a named, short-lived copy of one service, on its own host name.

Shared by the stacks (what to build), the ops commands (what to deploy, list, extend and
delete) and the cost model. A preview lives in its own stack "<env>-preview-<name>", found again
by the stack tags below; nothing about it is stored anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fargate_env.config import EnvironmentConfig, Route, ServiceConfig, select_service
from fargate_env.config.loading import ConfigError
from fargate_env.errors import UserError

# Stack tags that describe a preview (with config.stack_tags: environment, managed-by).
TAG_PREVIEW = "fargate-env:preview"
TAG_SERVICE = "fargate-env:service"
TAG_IMAGE = "fargate-env:image-tag"
TAG_CREATED = "fargate-env:created"
TAG_EXPIRES = "fargate-env:expires"
TAG_PRIORITY = "fargate-env:rule-priority"

# A DNS label short enough that "<env>-preview-<name>" (the stack and schedule name) stays
# within EventBridge Scheduler's 64-character schedule names.
NAME_MAX = 32
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def check_name(name: str) -> str:
    if len(name) > NAME_MAX or not _NAME_RE.match(name):
        raise UserError(
            f"preview name {name!r}: must be a DNS label of 1-{NAME_MAX} lowercase letters,"
            " digits and dashes, starting and ending with a letter or digit"
        )
    return name


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Preview:
    name: str
    service: str
    image_tag: str
    created: datetime
    expires: datetime
    # Its listener rule's priority: one of 1..previews.max_active, ahead of every service.
    priority: int = 1

    def tags(self) -> dict[str, str]:
        return {
            TAG_PREVIEW: self.name,
            TAG_SERVICE: self.service,
            TAG_IMAGE: self.image_tag,
            TAG_CREATED: self.created.strftime(TIME_FORMAT),
            TAG_EXPIRES: self.expires.strftime(TIME_FORMAT),
            TAG_PRIORITY: str(self.priority),
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Preview | None:
        """The preview a stack's tags describe; None when they do not describe one."""
        try:
            return cls(
                name=tags[TAG_PREVIEW],
                service=tags[TAG_SERVICE],
                image_tag=tags[TAG_IMAGE],
                created=_parse_time(tags[TAG_CREATED]),
                expires=_parse_time(tags[TAG_EXPIRES]),
                priority=int(tags[TAG_PRIORITY]),
            )
        except (KeyError, ValueError):
            return None

    @property
    def at_expression(self) -> str:
        """EventBridge Scheduler's one-time expression (with ScheduleExpressionTimezone UTC)."""
        return at_expression(self.expires)


def at_expression(when: datetime) -> str:
    return f"at({when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def parse_at_expression(expression: str) -> datetime | None:
    match = re.fullmatch(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)", expression)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def require_previews(config: EnvironmentConfig) -> str:
    """The preview domain, or the one line saying how to turn previews on."""
    domain = config.load_balancer.preview_domain
    if not domain:
        raise UserError(
            f"environment {config.name!r} has no previews: set load_balancer.preview_domain,"
            " preview_hosted_zone_id and preview_hosted_zone_name, then deploy"
        )
    return domain


def check_ttl(config: EnvironmentConfig, text: str) -> timedelta:
    try:
        return config.previews.check_ttl(text)
    except ValueError as exc:
        raise UserError(f"--ttl {text!r}: {exc}") from None


def new_preview(
    config: EnvironmentConfig,
    name: str,
    *,
    service: str | None,
    image_tag: str | None,
    ttl: str | None,
    now: datetime,
    priority: int = 1,
    created: datetime | None = None,
) -> Preview:
    """Validate a `preview up` / `synth --preview` request; every mistake is one UserError."""
    require_previews(config)
    check_name(name)
    try:
        service, svc = select_service(config, service)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    if not svc.routed:
        raise UserError(
            f"--service {service}: a preview is a web service's copy on its own host name;"
            f" {service} is a {svc.kind}"
        )
    lifetime = check_ttl(config, ttl) if ttl is not None else config.previews.default_ttl
    tag = image_tag or svc.image_tag
    try:
        ServiceConfig.model_validate({**svc.model_dump(), "image_tag": tag})
    except ValueError:
        raise UserError(f"--image-tag {tag!r}: not a Docker tag (letters, digits, _ . -)") from None
    return Preview(name, service, tag, created or now, now + lifetime, priority)


def host(config: EnvironmentConfig, preview: str) -> str:
    return f"{preview}.{require_previews(config)}"


def route(config: EnvironmentConfig, preview: Preview) -> Route:
    """Host header only, at the preview's own priority (ahead of every service rule)."""
    return Route(f"preview-{preview.name}", preview.priority, (host(config, preview.name),), ())


def service_config(config: EnvironmentConfig, preview: Preview) -> ServiceConfig:
    """The service's config sized down for a preview: one task, Spot when the service allows
    it, no scaling and no schedule, its health check and environment, the preview's image and
    a short log retention."""
    svc = config.services[preview.service]
    data: dict[str, Any] = svc.model_dump()
    data.update(
        image_tag=preview.image_tag,
        # Pull from the service's own repository, whatever it is called.
        repository_name=config.repository_name(preview.service),
        log_retention_days=config.previews.log_retention_days,
        schedule=None,
        scaling={**data["scaling"], "min_tasks": 1, "max_tasks": 1},
        capacity={"spot": svc.capacity.spot, "on_demand_base": 0},
        routing={"host_headers": [host(config, preview.name)], "priority": preview.priority},
    )
    data["scaling"].update(memory_target_percent=None, requests_per_target=None)
    return ServiceConfig.model_validate(data)
