"""`run-job`: one run of a scheduled job now, the way its schedule starts it, waited for.

The job's stack outputs what EventBridge Scheduler hands ECS RunTask (task definition,
subnets, security group, public-IP setting, capacity provider); the platform stack names the
cluster. The run is ours: if the wait runs out or is interrupted, we stop the task we started.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fargate_env import outputs
from fargate_env.config import select_service
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, call

# ECS RunTask's startedBy: tells a run-job run from a scheduled one in the task list.
STARTED_BY = "fargate-env-run-job"


class NotStarted(UserError):
    """ECS refused the run (capacity, a bad subnet): the job failed, not the user; exit 1."""

    exit_code = 1


@dataclass(frozen=True)
class JobTarget:
    """Where and how the job's schedule runs it, read from the deployed stacks."""

    name: str  # the config's service name
    cluster: str
    task_definition: str
    subnets: list[str]
    security_group: str
    assign_public_ip: str  # ENABLED | DISABLED
    capacity_provider: str  # FARGATE_SPOT | FARGATE
    log_group: str

    @classmethod
    def read(cls, aws: Aws, service: str) -> JobTarget:
        name, svc = select_service(aws.config, service)
        if svc.kind != "job":
            jobs = [n for n, s in aws.config.services.items() if s.kind == "job"]
            have = f"jobs here: {', '.join(jobs)}" if jobs else "this environment has none"
            raise UserError(
                f"{name} is a {svc.kind} service, not a job: run-job runs a"
                f' kind = "job" service ({have})'
            )
        cluster = aws.stack_outputs(outputs.PLATFORM, outputs.CLUSTER_NAME)
        keys = (
            outputs.TASK_DEFINITION_ARN,
            outputs.TASK_SUBNETS,
            outputs.TASK_SECURITY_GROUP,
            outputs.ASSIGN_PUBLIC_IP,
            outputs.CAPACITY_PROVIDER,
            outputs.LOG_GROUP_NAME,
        )
        found = aws.service_outputs(name, *keys)
        return cls(
            name=name,
            cluster=cluster[outputs.CLUSTER_NAME],
            task_definition=found[outputs.TASK_DEFINITION_ARN],
            subnets=[s for s in found[outputs.TASK_SUBNETS].split(",") if s],
            security_group=found[outputs.TASK_SECURITY_GROUP],
            assign_public_ip=found[outputs.ASSIGN_PUBLIC_IP],
            capacity_provider=found[outputs.CAPACITY_PROVIDER],
            log_group=found[outputs.LOG_GROUP_NAME],
        )


@dataclass(frozen=True)
class JobRun:
    """One finished (or abandoned) run: what the user needs to act on it."""

    name: str
    task_arn: str
    capacity_provider: str
    log_group: str
    exit_code: int | None  # the essential container's; None: it never ran to an exit
    reason: str  # why it failed ("" when it succeeded)
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.reason

    @property
    def task_id(self) -> str:
        return self.task_arn.rsplit("/", 1)[-1]


def start(aws: Aws, target: JobTarget) -> str:
    """RunTask with the schedule's parameters; returns the task ARN. A refusal (no capacity,
    a bad subnet) is the command's failure, not the user's: exit 1 with ECS's reason."""
    found = call(
        aws.client("ecs").run_task,
        what=f"ECS RunTask {target.task_definition}",
        cluster=target.cluster,
        taskDefinition=target.task_definition,
        count=1,
        startedBy=STARTED_BY,
        # As the job's state machine starts it: the run carries the task definition's tags.
        propagateTags="TASK_DEFINITION",
        capacityProviderStrategy=[{"capacityProvider": target.capacity_provider, "weight": 1}],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": target.subnets,
                "securityGroups": [target.security_group],
                "assignPublicIp": target.assign_public_ip,
            }
        },
    )
    if not found.get("tasks"):
        failure = (found.get("failures") or [{}])[0]
        reason = failure.get("reason", "no task started")
        detail = f" ({failure['detail']})" if failure.get("detail") else ""
        raise NotStarted(f"ECS did not start {target.name}: {reason}{detail}")
    return found["tasks"][0]["taskArn"]


def _essential(aws: Aws, task_definition: str) -> set[str] | None:
    """The names of the task definition's essential containers (ECS's default is essential)."""
    found = call(
        aws.client("ecs").describe_task_definition,
        what=f"ECS DescribeTaskDefinition {task_definition}",
        taskDefinition=task_definition,
    )["taskDefinition"]
    return {c["name"] for c in found.get("containerDefinitions", []) if c.get("essential", True)}


def outcome(task: dict[str, Any], essential: set[str] | None) -> tuple[int | None, str]:
    """(exit code, failure reason) of a STOPPED task: it succeeded when every essential
    container exited 0. Otherwise the reason names the container and what ECS says."""
    containers = [c for c in task.get("containers", []) if not essential or c["name"] in essential]
    if not containers:
        return None, task.get("stoppedReason") or "the task stopped with no container"
    for container in containers:
        code = container.get("exitCode")
        if code != 0:
            why = container.get("reason") or task.get("stoppedReason") or "no reason given"
            what = f"exited {code}" if code is not None else "never ran to an exit"
            return code, f"container {container['name']} {what}: {why}"
    return 0, ""


def wait(
    aws: Aws,
    target: JobTarget,
    task_arn: str,
    *,
    timeout_s: float,
    poll_s: float,
    progress: Callable[[str], None] = lambda _: None,
) -> JobRun:
    """Poll DescribeTasks until the task is STOPPED. Past `timeout_s` (or on Ctrl-C) the
    task we started is stopped, so an abandoned run does not keep billing."""
    ecs = aws.client("ecs")
    started = time.monotonic()
    essential = _essential(aws, target.task_definition)
    last = ""
    try:
        while True:
            found = call(ecs.describe_tasks, what="ECS DescribeTasks", cluster=target.cluster,
                         tasks=[task_arn])["tasks"]  # fmt: skip
            task = found[0] if found else {}
            status = task.get("lastStatus", "UNKNOWN")
            if status != last:
                progress(f"{target.name}: {status.lower()}")
                last = status
            elapsed = time.monotonic() - started
            if status == "STOPPED":
                code, reason = outcome(task, essential)
                return JobRun(target.name, task_arn, target.capacity_provider,
                              target.log_group, code, reason, elapsed)  # fmt: skip
            if elapsed >= timeout_s:
                minutes = timeout_s / 60
                _stop(aws, target, task_arn, f"run-job waited {minutes:g} min")
                reason = f"still {status.lower()} after {minutes:g} min: stopped it"
                return JobRun(target.name, task_arn, target.capacity_provider,
                              target.log_group, None, reason, elapsed)  # fmt: skip
            time.sleep(poll_s)
    except KeyboardInterrupt:
        _stop(aws, target, task_arn, "run-job interrupted")
        raise


def _stop(aws: Aws, target: JobTarget, task_arn: str, reason: str) -> None:
    call(aws.client("ecs").stop_task, what="ECS StopTask", cluster=target.cluster,
         task=task_arn, reason=reason)  # fmt: skip


def run_job(
    aws: Aws,
    service: str,
    *,
    timeout_minutes: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> JobRun:
    """Start one run of `service` (a job) and wait for it. The default wait is the job's own
    timeout plus the time a task takes to launch (ops.task_launch_seconds)."""
    target = JobTarget.read(aws, service)
    job = aws.config.services[target.name].job
    ops = aws.config.ops
    timeout_s = (
        timeout_minutes * 60
        if timeout_minutes is not None
        else job.timeout_minutes * 60 + ops.task_launch_seconds
    )
    task_arn = start(aws, target)
    progress(f"{target.name}: started on {target.cluster} ({target.capacity_provider})")
    return wait(aws, target, task_arn, timeout_s=timeout_s, poll_s=ops.poll_interval_seconds,
                progress=progress)  # fmt: skip
