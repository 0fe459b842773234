"""Stop one running task and time how long the service takes to be whole again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fargate_env.config import EnvironmentConfig
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, call
from fargate_env.ops.verify import Deployed, describe_service, service_stable, target_states

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def recovery_bound_seconds(config: EnvironmentConfig, service: str) -> int:
    """Longest acceptable recovery, derived from the environment's and the service's numbers.

    ECS notices the stopped task and launches a replacement (provisioning + image pull + start:
    ops.task_launch_seconds), the container may take its start period, then the ALB needs
    healthy_threshold consecutive passing checks, interval_seconds apart, before routing to it.
    """
    hc = config.services[service].health_check
    return (
        config.ops.task_launch_seconds + hc.container_start_period_seconds + hc.registration_seconds
    )


@dataclass
class FailoverReport:
    service: str
    stopped_task: str
    bound_s: int
    timeline: list[tuple[float, str]] = field(default_factory=list)
    recovered_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.recovered_s is not None and self.recovered_s <= self.bound_s


def running_tasks(ecs: Any, cluster: str, service: str) -> list[str]:
    found = call(
        ecs.list_tasks,
        what="ECS ListTasks",
        cluster=cluster,
        serviceName=service,
        desiredStatus="RUNNING",
    )
    return list(found["taskArns"])


def _snapshot(ecs: Any, elbv2: Any, deployed: Deployed) -> tuple[int, int, list[str], list[str]]:
    svc = describe_service(ecs, deployed.cluster, deployed.service) or {}
    tasks = running_tasks(ecs, deployed.cluster, deployed.service)
    states = [state for _, state, _ in target_states(elbv2, deployed.target_group_arn)]
    return svc.get("runningCount", 0), svc.get("desiredCount", 0), tasks, states


def run_failover(
    aws: Aws,
    service: str | None = None,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    progress: Callable[[str], None] = lambda _: None,
) -> FailoverReport:
    deployed = Deployed.read(aws, service)
    ecs, elbv2 = aws.client("ecs"), aws.client("elbv2")
    before = service_stable(ecs, deployed.cluster, deployed.service)
    if not before.ok:
        raise UserError(
            f"service {deployed.service} is not stable ({before.detail}): a failover test needs"
            f" a healthy start; run `fargate-env verify --env {aws.config.name} --service"
            f" {deployed.name}` and wait"
        )
    tasks = running_tasks(ecs, deployed.cluster, deployed.service)
    if not tasks:
        raise UserError(
            f"service {deployed.service} has no running task to stop (off-hours schedule at 0?)"
        )
    victim = tasks[0]
    report = FailoverReport(
        service=deployed.name,
        stopped_task=victim.rsplit("/", 1)[-1],
        bound_s=recovery_bound_seconds(aws.config, deployed.name),
    )
    progress(f"stopping task {report.stopped_task}")
    call(
        ecs.stop_task,
        what="ECS StopTask",
        cluster=deployed.cluster,
        task=victim,
        reason="fargate-env failover test",
    )
    t0 = clock()
    report.timeline.append((0.0, f"stopped task {report.stopped_task}"))
    last = ""
    # Poll a little past the bound so a slow recovery is measured, not just declared failed.
    deadline = t0 + report.bound_s + aws.config.ops.poll_interval_seconds * 2
    while (now := clock()) <= deadline:
        running, desired, arns, states = _snapshot(ecs, elbv2, deployed)
        healthy = states.count("healthy")
        pending = [s for s in states if s not in ("healthy", "draining")]
        summary = (
            f"running {running}/{desired}, targets healthy {healthy}"
            + (f", {len(pending)} {'/'.join(sorted(set(pending)))}" if pending else "")
            + (f", {states.count('draining')} draining" if "draining" in states else "")
        )
        if summary != last:
            report.timeline.append((now - t0, summary))
            progress(f"{now - t0:5.0f} s  {summary}")
            last = summary
        if (
            victim not in arns
            and len(arns) == desired == running
            and healthy >= desired
            and not pending
        ):
            report.recovered_s = now - t0
            report.timeline.append((report.recovered_s, "recovered: all running + healthy"))
            break
        sleep(aws.config.ops.poll_interval_seconds)
    return report
