"""Post-deploy checks: the service is stable, every target is healthy, the URL answers /health."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from fargate_env import outputs
from fargate_env.ops.aws import Aws, call


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Deployed:
    """What the ops commands read from the stack outputs."""

    cluster: str
    service: str
    target_group_arn: str
    url: str

    @classmethod
    def read(cls, aws: Aws) -> Deployed:
        lb = aws.stack_outputs(outputs.LOAD_BALANCER, outputs.SERVICE_URL, outputs.TARGET_GROUP_ARN)
        svc = aws.stack_outputs(outputs.SERVICE, outputs.CLUSTER_NAME, outputs.SERVICE_NAME)
        return cls(
            cluster=svc[outputs.CLUSTER_NAME],
            service=svc[outputs.SERVICE_NAME],
            target_group_arn=lb[outputs.TARGET_GROUP_ARN],
            url=lb[outputs.SERVICE_URL].rstrip("/"),
        )


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any] | None:
    found = call(
        ecs.describe_services, what="ECS DescribeServices", cluster=cluster, services=[service]
    )
    return found["services"][0] if found.get("services") else None


def service_stable(ecs: Any, cluster: str, service: str) -> Check:
    """Stable = running equals desired and the single PRIMARY deployment has completed."""
    name = "service stable"
    svc = describe_service(ecs, cluster, service)
    if svc is None or svc.get("status") != "ACTIVE":
        return Check(name, False, f"service {service} not found (or not ACTIVE) in {cluster}")
    running, desired = svc["runningCount"], svc["desiredCount"]
    deployments = svc.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    rollout = primary.get("rolloutState", "COMPLETED") if primary else "NONE"
    counts = f"running {running}/{desired}"
    if running != desired:
        return Check(name, False, f"{counts}, {len(deployments)} deployment(s)")
    if rollout != "COMPLETED" or len(deployments) > 1:
        detail = f"{counts}, primary deployment {rollout}, {len(deployments)} deployment(s)"
        return Check(name, False, detail)
    return Check(name, True, f"{counts}, primary deployment COMPLETED")


def target_states(elbv2: Any, target_group_arn: str) -> list[tuple[str, str, str]]:
    """(target id, state, reason) of every registered target."""
    found = call(
        elbv2.describe_target_health,
        what="ELB DescribeTargetHealth",
        TargetGroupArn=target_group_arn,
    )
    return [
        (
            d["Target"]["Id"],
            d["TargetHealth"]["State"],
            d["TargetHealth"].get("Reason", ""),
        )
        for d in found["TargetHealthDescriptions"]
    ]


def targets_healthy(elbv2: Any, target_group_arn: str) -> Check:
    name = "targets healthy"
    states = target_states(elbv2, target_group_arn)
    if not states:
        return Check(name, False, "no target registered")
    bad = [(tid, state, reason) for tid, state, reason in states if state != "healthy"]
    if bad:
        tid, state, reason = bad[0]
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        return Check(name, False, f"{tid} is {state}{f': {reason}' if reason else ''}{more}")
    return Check(name, True, f"{len(states)}/{len(states)} healthy")


def http_health(url: str, timeout_s: float, *, verify_tls: bool = True) -> Check:
    """GET <url> must answer 200 within `timeout_s` (connect + response)."""
    name = f"GET {url}"
    started = time.perf_counter()
    try:
        response = httpx.get(url, timeout=timeout_s, verify=verify_tls, follow_redirects=False)
    except httpx.TimeoutException:
        return Check(name, False, f"no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    elapsed_ms = (time.perf_counter() - started) * 1000
    ok = response.status_code == 200
    return Check(name, ok, f"{response.status_code} in {elapsed_ms:.0f} ms")


def run_verify(aws: Aws, progress: Callable[[str], None] = lambda _: None) -> list[Check]:
    """All checks, each independent of the others' result (a red table says more than one)."""
    progress("reading stack outputs")
    deployed = Deployed.read(aws)
    hc = aws.config.health_check
    progress(f"describing service {deployed.service}")
    checks = [service_stable(aws.client("ecs"), deployed.cluster, deployed.service)]
    progress("reading target health")
    checks.append(targets_healthy(aws.client("elbv2"), deployed.target_group_arn))
    progress(f"GET {deployed.url}{hc.path}")
    checks.append(http_health(deployed.url + hc.path, aws.config.ops.http_timeout_seconds))
    return checks
