"""Load-balancer and deployment speed figures of one service, read back from its synthesized
template (the model's views, not the config), with the config's formulas: the summary prints
them, the cost model prices the extra task-hours of a deployment with them."""

from __future__ import annotations

from dataclasses import dataclass

from fargate_env.assembly import Service


@dataclass(frozen=True)
class DeploySpeed:
    strategy: str  # "rolling", "blue-green", "canary" or "linear"
    detect_seconds: int  # unhealthy target out of rotation
    step_overhead_seconds: int  # new targets healthy + old ones drained
    bakes_minutes: tuple[int, ...]  # every wait of a deployment, in order
    deploy_seconds: int  # worst case of a healthy deployment, past task start


def service_speed(service: Service | None) -> DeploySpeed | None:
    """The speed figures of a synthesized service: its target group's check and its
    deployment configuration, through the config's formulas (the one place they live)."""
    hc = service.health_check if service is not None else None
    if service is None or hc is None:
        return None
    dep = service.deployment
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
