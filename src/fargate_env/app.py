"""Build the CDK app of one environment: the shared stacks once, one stack per service."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk

from fargate_env import outputs
from fargate_env.config import (
    COST_TAG,
    ConfigError,
    EnvironmentConfig,
    load_config,
    resolve_env_path,
)
from fargate_env.errors import UserError
from fargate_env.paths import PROJECT_ROOT
from fargate_env.preview_spec import Preview, host, route, service_config
from fargate_env.stacks.alerts import AlertsStack
from fargate_env.stacks.monitoring import MonitoringStack
from fargate_env.stacks.network import NetworkStack
from fargate_env.stacks.platform import PlatformStack
from fargate_env.stacks.preview import PreviewsStack, PreviewStack
from fargate_env.stacks.registry import RegistryStack
from fargate_env.stacks.service import ServiceStack


def cdk_json_context() -> dict:
    """The feature flags of cdk.json: `python app.py` would silently run without them."""
    for candidate in (Path.cwd() / "cdk.json", PROJECT_ROOT / "cdk.json"):
        if candidate.is_file():
            return json.loads(candidate.read_text())["context"]
    raise FileNotFoundError("cdk.json not found in the working directory or the project root")


@dataclass
class EnvironmentApp:
    """The synthesizable app and its stacks, so callers can assert on any of them."""

    app: cdk.App
    network: NetworkStack
    registry: RegistryStack
    platform: PlatformStack
    alerts: AlertsStack
    services: dict[str, ServiceStack]
    monitoring: MonitoringStack
    # With load_balancer.preview_domain: the shared previews stack, and the previews asked for.
    previews_shared: PreviewsStack | None = None
    previews: dict[str, PreviewStack] = field(default_factory=dict)

    @property
    def stacks(self) -> list[cdk.Stack]:
        shared = [self.network, self.registry, self.platform, self.alerts]
        extra = [self.previews_shared] if self.previews_shared else []
        return [*shared, *self.services.values(), self.monitoring, *extra,
                *self.previews.values()]  # fmt: skip


def build_app(
    config: EnvironmentConfig,
    outdir: Path | str = "cdk.out",
    *,
    validation: bool = True,
    previews: Sequence[Preview] = (),
) -> EnvironmentApp:
    """Wire all stacks of `config` into a new App writing to `outdir`.

    `previews`: preview stacks to add (`synth --preview`, `preview up`); the shared previews
    stack comes with load_balancer.preview_domain alone.
    `validation` is CDK's own template validation (about 3/4 of synth time: off in unit tests);
    cdk-nag is added by `compliance.apply_compliance` for `fargate-env check`.
    """
    context = cdk_json_context()
    if config.account:
        # Pre-seed the AZ lookup so a stack with a concrete account synthesizes offline.
        key = f"availability-zones:account={config.account}:region={config.region}"
        context[key] = config.availability_zones
    app = cdk.App(
        outdir=str(outdir),
        context=context,
        builtin_cloud_formation_validation=validation,
    )
    env = cdk.Environment(account=config.account, region=config.region)

    network = NetworkStack(
        app,
        config.stack_name(outputs.NETWORK),
        env=env,
        network=config.network,
        availability_zones=config.availability_zones,
        alb_in_private_subnets=config.alb_in_private_subnets,
    )
    registry = RegistryStack(
        app,
        config.stack_name(outputs.REGISTRY),
        env=env,
        repository_names={
            name: config.repository_name(name)
            for name, service in config.services.items()
            if service.builds_image
        },
        registry=config.registry,
    )
    platform = PlatformStack(
        app,
        config.stack_name(outputs.PLATFORM),
        env=env,
        environment=config.name,
        cluster=config.cluster,
        load_balancer=config.load_balancer,
        origin_prefix_list_id=config.origin_prefix_list_id,
        vpc=network.vpc,
        alb_subnets=network.alb_subnets,
        service_connect=any(s.kind == "backend" for s in config.services.values()),
    )
    alerts = AlertsStack(
        app,
        config.stack_name(outputs.ALERTS),
        env=env,
        environment=config.name,
        monitoring=config.monitoring,
        monthly_budget_usd=config.cost.monthly_budget_usd,
        cost_tag=(COST_TAG, config.stack_tags[COST_TAG]),
    )
    services = {}
    for name in config.services:
        stack = ServiceStack(
            app,
            config.service_stack_name(name),
            env=env,
            environment=config.name,
            name=name,
            service=config.services[name],
            routes=config.service_routes(name),
            test_route=next((r for r in config.test_routes() if r.service == name), None),
            idle_timeout_seconds=config.load_balancer.idle_timeout_seconds,
            thresholds=config.monitoring.thresholds,
            container_insights=config.cluster.container_insights,
            cluster=platform.cluster,
            subnets=network.task_subnets,
            assign_public_ip=network.tasks_need_public_ip,
            # None for an image.uri service: it pulls from its own registry.
            repository=registry.repositories.get(name),
            listener=platform.listener,
            topic_arn=alerts.alarm_topic.topic_arn,
            # Jobs run outside Service Connect (RunTask tasks are not clients).
            environment_tasks=(
                None if config.services[name].kind == "job" else platform.task_security_group
            ),
        )
        # The topic is named by ARN, not referenced: order the deploy explicitly.
        stack.add_stack_dependency(alerts)
        stack.add_stack_dependency(registry)
        services[name] = stack
    monitoring = MonitoringStack(
        app,
        config.stack_name(outputs.MONITORING),
        env=env,
        environment=config.name,
        region=config.region,
        monitoring=config.monitoring,
        alb=platform.alb,
        topic_arn=alerts.alarm_topic.topic_arn,
        services=[s.alarms for s in services.values()],
    )
    monitoring.add_stack_dependency(alerts)
    previews_shared, preview_stacks = _add_previews(
        app, config=config, env=env, network=network, registry=registry, platform=platform,
        previews_to_build=list(previews),
    )  # fmt: skip

    built = EnvironmentApp(
        app=app,
        network=network,
        registry=registry,
        platform=platform,
        alerts=alerts,
        services=services,
        monitoring=monitoring,
        previews_shared=previews_shared,
        previews=preview_stacks,
    )
    for stack in built.stacks:
        for key, value in config.stack_tags.items():
            cdk.Tags.of(stack).add(key, value)
            # The stack's own tags (cdk.json sets explicitStackTags, so Tags.of reaches only
            # the resources): `destroy` and `preview list` find the environment's stacks by them.
            stack.tags.set_tag(key, value)
    return built


def _add_previews(
    app: cdk.App,
    *,
    config: EnvironmentConfig,
    env: cdk.Environment,
    network: NetworkStack,
    registry: RegistryStack,
    platform: PlatformStack,
    previews_to_build: list[Preview],
) -> tuple[PreviewsStack | None, dict[str, PreviewStack]]:
    """The shared previews stack (when previews are on) and one stack per preview asked for."""
    lb = config.load_balancer
    if not lb.preview_domain:
        return None, {}
    assert lb.preview_hosted_zone_id and lb.preview_hosted_zone_name
    https = lb.certificate_mode != "http-only"
    shared = PreviewsStack(
        app,
        config.stack_name(outputs.PREVIEWS),
        env=env,
        preview_domain=lb.preview_domain,
        hosted_zone_id=lb.preview_hosted_zone_id,
        hosted_zone_name=lb.preview_hosted_zone_name,
        https=https,
        alb=platform.alb,
        listener=platform.listener,
    )
    built = {}
    for preview in previews_to_build:
        scheme = "https" if https else "http"
        stack = PreviewStack(
            app,
            config.preview_stack_name(preview.name),
            env=env,
            preview=preview,
            service=service_config(config, preview),
            route=route(config, preview),
            url=f"{scheme}://{host(config, preview.name)}",
            idle_timeout_seconds=lb.idle_timeout_seconds,
            cluster=platform.cluster,
            subnets=network.task_subnets,
            assign_public_ip=network.tasks_need_public_ip,
            repository=registry.repositories.get(preview.service),
            listener=platform.listener,
            environment_tasks=platform.task_security_group,
        )
        # Its host name and certificate come from the shared previews stack.
        stack.add_stack_dependency(shared)
        built[preview.name] = stack
    return shared, built


def app_from_environment() -> cdk.App:
    """The app `cdk synth` runs: FARGATE_ENV / FARGATE_ENV_FILE pick the config, CDK_OUTDIR
    the assembly directory. Mistakes in them are ConfigErrors naming the variable."""
    env_file = os.environ.get("FARGATE_ENV_FILE")
    env = os.environ.get("FARGATE_ENV")
    if env is not None and not re.match(r"^[A-Za-z0-9_.-]+$", env):
        raise ConfigError(f"FARGATE_ENV={env!r}: use a file name from environments/ without .toml")
    path = resolve_env_path(env, Path(env_file) if env_file else None)
    outdir = os.environ.get("CDK_OUTDIR") or "cdk.out"
    config = load_config(path)
    if Path(outdir).exists() and not Path(outdir).is_dir():
        raise ConfigError(f"CDK_OUTDIR={outdir}: is a file; name a directory")
    try:
        # CDK's node process hangs rather than fails on some unwritable directories (/proc).
        Path(outdir).mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=outdir).close()
    except OSError as exc:
        raise ConfigError(f"CDK_OUTDIR={outdir}: cannot write there ({exc.strerror})") from None
    return build_app(config, outdir).app


def main() -> None:
    """./app.py: one line on stderr and exit 2 for every mistake, like the CLI."""
    from fargate_env.cli.options import jsii_error_line

    try:
        app_from_environment().synth()
    except (ConfigError, UserError, OSError) as exc:
        message = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        line = jsii_error_line(exc)
        if line is None:
            raise
        print(f"error: synthesis failed: {line}", file=sys.stderr)
        sys.exit(2)
