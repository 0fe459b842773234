"""Load-balancer and deployment speed figures of one service, read back from its synthesized
template (not the config), with the config's formulas: the summary prints them, the cost
model prices the extra task-hours of a deployment with them."""

from __future__ import annotations

from dataclasses import dataclass

from fargate_env.config import DeploymentConfig, HealthCheckConfig
from fargate_env.config.deployment import ECS_STRATEGY

TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
ECS_SERVICE = "AWS::ECS::Service"
_STRATEGY_NAMES = {ecs: ours for ours, ecs in ECS_STRATEGY.items()}


@dataclass(frozen=True)
class DeploySpeed:
    strategy: str  # "rolling", "blue-green", "canary" or "linear"
    detect_seconds: int  # unhealthy target out of rotation
    step_overhead_seconds: int  # new targets healthy + old ones drained
    bakes_minutes: tuple[int, ...]  # every wait of a deployment, in order
    deploy_seconds: int  # worst case of a healthy deployment, past task start


def health_check(resources: dict) -> HealthCheckConfig | None:
    """The first target group's numbers (a service's target groups share them). AWS defaults
    apply when a property is absent (ELB docs: 30 s, 5, 2, 300 s); model_construct: the
    template's numbers with the config's formulas, unvalidated."""
    for resource in resources.values():
        if resource["Type"] != TARGET_GROUP:
            continue
        props = resource["Properties"]
        attrs = {a["Key"]: a["Value"] for a in props.get("TargetGroupAttributes", [])}
        return HealthCheckConfig.model_construct(
            interval_seconds=int(props.get("HealthCheckIntervalSeconds", 30)),
            healthy_threshold=int(props.get("HealthyThresholdCount", 5)),
            unhealthy_threshold=int(props.get("UnhealthyThresholdCount", 2)),
            deregistration_delay_seconds=int(
                attrs.get("deregistration_delay.timeout_seconds", 300)
            ),
        )
    return None


def deployment(service_props: dict) -> DeploymentConfig:
    """An ECS service's DeploymentConfiguration as the config model. Absent values take ECS's
    defaults where the API reference states them (rolling; linear 10 % every 6 min) and are
    otherwise assumed (no bake; canary 5 % for 10 min): this project's templates set them all."""
    dc = service_props.get("DeploymentConfiguration") or {}
    canary = dc.get("CanaryConfiguration") or {}
    linear = dc.get("LinearConfiguration") or {}
    return DeploymentConfig.model_construct(
        strategy=_STRATEGY_NAMES.get(dc.get("Strategy", "ROLLING"), "rolling"),
        bake_minutes=int(dc.get("BakeTimeInMinutes", 0)),
        canary_percent=float(canary.get("CanaryPercent", 5)),
        canary_bake_minutes=int(canary.get("CanaryBakeTimeInMinutes", 10)),
        linear_step_percent=float(linear.get("StepPercent", 10)),
        linear_step_minutes=int(linear.get("StepBakeTimeInMinutes", 6)),
    )


def service_speed(resources: dict) -> DeploySpeed | None:
    """The speed figures of the (one) ECS service and target group in a service's stack."""
    hc = health_check(resources)
    if hc is None:
        return None
    services = [r["Properties"] for r in resources.values() if r["Type"] == ECS_SERVICE]
    dep = deployment(services[0] if services else {})
    return DeploySpeed(
        strategy=dep.strategy,
        detect_seconds=hc.detection_seconds,
        step_overhead_seconds=hc.deploy_overhead_seconds,
        bakes_minutes=tuple(dep.bakes_minutes),
        deploy_seconds=dep.deploy_seconds(hc.deploy_overhead_seconds),
    )


def duration(seconds: int) -> str:
    """30 s, 3 min 30 s, 1 h 5 min: short enough for an 80-column table."""
    if seconds < 60:
        return f"{seconds} s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts)
