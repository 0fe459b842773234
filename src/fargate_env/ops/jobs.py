"""A deployed job as `status` and `verify` see it: its schedule (EventBridge Scheduler) and
its last run (ECS keeps a stopped task listed for about an hour; older runs are in the logs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import botocore.exceptions

from fargate_env.ops.aws import Aws, aws_error, call
from fargate_env.ops.run_job import outcome


@dataclass(frozen=True)
class Schedule:
    expression: str  # cron(...) or rate(...)
    timezone: str
    state: str  # ENABLED | DISABLED

    def describe(self) -> str:
        return f"{self.expression} {self.timezone}, {self.state.lower()}"


@dataclass(frozen=True)
class LastRun:
    task_id: str
    running: bool
    exit_code: int | None
    reason: str
    at: datetime | None  # when it stopped (or started, while running)

    @property
    def ok(self) -> bool:
        return self.running or (self.exit_code == 0 and not self.reason)

    def describe(self) -> str:
        when = f" {self.at:%m-%d %H:%M}" if self.at else ""
        if self.running:
            return f"running{when}"
        code = "no exit code" if self.exit_code is None else f"exit {self.exit_code}"
        return f"{code}{when}"

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task_id, "running": self.running, "exit_code": self.exit_code,
                "reason": self.reason, "at": self.at.isoformat() if self.at else None}  # fmt: skip


def family(task_definition_arn: str) -> str:
    """arn:...:task-definition/demo-nightly:3 -> demo-nightly."""
    return task_definition_arn.rsplit("/", 1)[-1].split(":", 1)[0]


def read_schedule(aws: Aws, name: str) -> Schedule | None:
    """The job's schedule as Scheduler holds it; None when it does not exist. The stack
    outputs its name; its group is found by listing (a job's schedule has a group of its own)."""
    scheduler = aws.client("scheduler")
    listed = call(scheduler.list_schedules, what="Scheduler ListSchedules", NamePrefix=name)
    group = next((s.get("GroupName") for s in listed.get("Schedules", []) if s["Name"] == name),
                 None)  # fmt: skip
    if group is None:
        return None
    try:
        found = scheduler.get_schedule(Name=name, GroupName=group)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise aws_error(exc, f"Scheduler GetSchedule {name}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise aws_error(exc, f"Scheduler GetSchedule {name}") from None
    return Schedule(
        found.get("ScheduleExpression", ""),
        found.get("ScheduleExpressionTimezone") or "UTC",
        found.get("State", "ENABLED"),
    )


def last_run(aws: Aws, cluster: str, task_family: str) -> LastRun | None:
    """The newest task of the job's family: a running one first, else the last stopped."""
    ecs = aws.client("ecs")
    for desired in ("RUNNING", "STOPPED"):
        arns = call(ecs.list_tasks, what="ECS ListTasks", cluster=cluster, family=task_family,
                    desiredStatus=desired)["taskArns"]  # fmt: skip
        if not arns:
            continue
        tasks = call(ecs.describe_tasks, what="ECS DescribeTasks", cluster=cluster,
                     tasks=arns[:100])["tasks"]  # fmt: skip
        if not tasks:
            continue
        task = max(tasks, key=_when)
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        if desired == "RUNNING" and task.get("lastStatus") != "STOPPED":
            return LastRun(task_id, True, None, "", task.get("startedAt") or task.get("createdAt"))
        code, reason = outcome(task, None)
        return LastRun(task_id, False, code, reason, task.get("stoppedAt"))
    return None


def _when(task: dict[str, Any]) -> datetime:
    stamp = task.get("stoppedAt") or task.get("startedAt") or task.get("createdAt")
    return stamp.replace(tzinfo=None) if stamp else datetime.min
