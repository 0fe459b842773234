"""`status`, and the running image a deploy keeps: what each service runs now, read from ECS.

The image tag a service runs is state in AWS, not in the environment file: the file's
`image_tag` is only the first one. Per service: the platform stack's ClusterName and the
service stack's ServiceName outputs name the ECS service; DescribeServices gives its task
definition, desired and running counts and deployments; the task definition's container
pulling from the service's repository gives the tag. A service whose stack or ECS service
does not exist yet is "not deployed" (running tag None).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import botocore.exceptions

from fargate_env import outputs
from fargate_env.config import EnvironmentConfig
from fargate_env.ops.aws import Aws, aws_error, call
from fargate_env.ops.jobs import LastRun, Schedule, family, last_run, read_schedule

# DescribeServices takes at most 10 services per call (ECS API reference).
DESCRIBE_BATCH = 10


@dataclass(frozen=True)
class Deployment:
    status: str  # PRIMARY, ACTIVE, INACTIVE
    rollout: str  # COMPLETED, IN_PROGRESS, FAILED
    updated: datetime | None

    def to_json(self) -> dict[str, Any]:
        when = self.updated.isoformat() if self.updated else None
        return {"status": self.status, "rollout": self.rollout, "updated": when}


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    file_tag: str
    running_tag: str | None  # None: not deployed (or its image has no tag)
    desired: int = 0
    running: int = 0
    last_deployment: Deployment | None = None
    deployed: bool = False
    kind: str = "web"
    # A backend: the address the environment's other services call it at.
    reach: str | None = None
    # A job: its schedule (None: not found) and its newest run ECS still lists.
    schedule: Schedule | None = None
    last_run: LastRun | None = None

    def to_json(self) -> dict[str, Any]:
        last = self.last_deployment.to_json() if self.last_deployment else None
        out = {
            "service": self.service,
            "kind": self.kind,
            "file_tag": self.file_tag,
            "running_tag": self.running_tag,
            "desired": self.desired,
            "running": self.running,
            "last_deployment": last,
        }
        if self.reach:
            out["reach"] = self.reach
        if self.kind == "job":
            out["schedule"] = self.schedule.describe() if self.schedule else None
            out["last_run"] = self.last_run.to_json() if self.last_run else None
        return out


def _output(aws: Aws, stack: str, key: str) -> str | None:
    """One output of a stack, None when the stack (or the output) does not exist yet."""
    return (_outputs(aws, stack) or {}).get(key)


def _outputs(aws: Aws, stack: str) -> dict[str, str] | None:
    """A stack's outputs, None when the stack does not exist yet."""
    cfn = aws.client("cloudformation")
    try:
        found = cfn.describe_stacks(StackName=stack)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise aws_error(exc, f"CloudFormation DescribeStacks {stack}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise aws_error(exc, f"CloudFormation DescribeStacks {stack}") from None
    return {o["OutputKey"]: o.get("OutputValue") for o in found[0].get("Outputs", [])}


def image_tag(image: str) -> str | None:
    """The tag of an image reference: repo:tag -> tag; by digest (repo@sha256:...) -> None."""
    name = image.rsplit("/", 1)[-1]
    if "@" in name or ":" not in name:
        return None
    return name.rsplit(":", 1)[1]


def _repository(config: EnvironmentConfig, name: str) -> str:
    """Where the service's image comes from: its ECR repository, or its image.uri's path
    (registry host and tag left out: "ghcr.io/org/app:1" -> "org/app")."""
    svc = config.services[name]
    if svc.builds_image:
        return config.repository_name(name)
    path = svc.image.uri.split("/", 1)[-1]
    return path.split("@")[0].rsplit(":", 1)[0]


def file_tag(config: EnvironmentConfig, name: str) -> str:
    """The tag the file gives the service: image_tag, or the one its image.uri names."""
    svc = config.services[name]
    if svc.builds_image:
        return svc.image_tag
    return image_tag(svc.image.uri) or svc.image.uri


def _running_tag(aws: Aws, task_definition: str, repository: str) -> str | None:
    found = call(
        aws.client("ecs").describe_task_definition,
        what=f"ECS DescribeTaskDefinition {task_definition}",
        taskDefinition=task_definition,
    )["taskDefinition"]
    images = [c.get("image", "") for c in found.get("containerDefinitions", [])]
    # The container pulling from the service's repository (<registry>/<repository>:<tag>).
    ours = [i for i in images if f"/{repository}:" in i or f"/{repository}@" in i]
    chosen = ours[0] if ours else (images[0] if len(images) == 1 else "")
    return image_tag(chosen) if chosen else None


def _last_deployment(service: dict) -> Deployment | None:
    deployments = service.get("deployments") or []
    if not deployments:
        return None
    newest = max(
        deployments,
        key=lambda d: (d.get("status") == "PRIMARY", d.get("createdAt") or datetime.min),
    )
    return Deployment(
        newest.get("status", ""),
        newest.get("rolloutState", "") or "",
        newest.get("updatedAt") or newest.get("createdAt"),
    )


def service_status(aws: Aws, services: list[str] | None = None) -> list[ServiceStatus]:
    """Each service of the file (or `services`), as it runs now."""
    config = aws.config
    names = list(config.services) if services is None else services
    rows = {n: _row(config, n) for n in names}
    cluster = _output(aws, config.stack_name(outputs.PLATFORM), outputs.CLUSTER_NAME)
    if cluster is None:
        return list(rows.values())
    ecs_names = {}
    for name in names:
        if config.services[name].kind == "job":
            rows[name] = _job_status(aws, cluster, rows[name])
            continue
        ecs_name = _output(aws, config.service_stack_name(name), outputs.SERVICE_NAME)
        if ecs_name:
            ecs_names[ecs_name.rsplit("/", 1)[-1]] = name
    listed = list(ecs_names)
    for start in range(0, len(listed), DESCRIBE_BATCH):
        batch = listed[start : start + DESCRIBE_BATCH]
        found = call(
            aws.client("ecs").describe_services,
            what="ECS DescribeServices",
            cluster=cluster,
            services=batch,
        )
        for svc in found.get("services", []):
            name = ecs_names.get(svc.get("serviceName", ""))
            if name is None or svc.get("status") != "ACTIVE":
                continue
            tag = _running_tag(aws, svc["taskDefinition"], _repository(config, name))
            rows[name] = replace(
                rows[name],
                running_tag=tag,
                desired=svc.get("desiredCount", 0),
                running=svc.get("runningCount", 0),
                last_deployment=_last_deployment(svc),
                deployed=True,
            )
    return list(rows.values())


def _row(config: EnvironmentConfig, name: str) -> ServiceStatus:
    svc = config.services[name]
    reach = f"http://{name}:{svc.container_port}" if svc.kind == "backend" else None
    return ServiceStatus(name, file_tag(config, name), None, kind=svc.kind, reach=reach)


def _job_status(aws: Aws, cluster: str, row: ServiceStatus) -> ServiceStatus:
    """A job has no ECS service: its stack names the task definition and the schedule."""
    found = _outputs(aws, aws.config.service_stack_name(row.service)) or {}
    task_definition = found.get(outputs.TASK_DEFINITION_ARN)
    if not task_definition:
        return row
    schedule_name = found.get(outputs.SCHEDULE_NAME)
    run = last_run(aws, cluster, family(task_definition))
    return replace(
        row,
        running_tag=_running_tag(aws, task_definition, _repository(aws.config, row.service)),
        running=1 if run and run.running else 0,
        deployed=True,
        schedule=read_schedule(aws, schedule_name) if schedule_name else None,
        last_run=run,
    )


@dataclass(frozen=True)
class Kept:
    """A deployed service the deploy keeps on the tag it runs (not the file's)."""

    service: str
    tag: str
    file_tag: str


def keep_running_tags(
    aws: Aws, config: EnvironmentConfig, except_service: str | None
) -> tuple[EnvironmentConfig, list[Kept]]:
    """`config` with every deployed service on the tag it runs now, but `except_service`
    (the one `--image-tag` sets). A service not deployed yet keeps the file's tag; one that
    runs an image.uri runs what the file names (it has no ECR repository to push to)."""
    pushed = [name for name, svc in config.services.items() if svc.builds_image]
    kept = [
        Kept(s.service, s.running_tag, s.file_tag)
        for s in service_status(aws, pushed)
        if s.service != except_service and s.running_tag and s.running_tag != s.file_tag
    ]
    if not kept:
        return config, []
    # A copy, not a re-validation: the tags already run, and a dump/parse round trip would
    # see image_tag as set on a uri service (refused there).
    services = dict(config.services)
    for k in kept:
        services[k.service] = services[k.service].model_copy(update={"image_tag": k.tag})
    return config.model_copy(update={"services": services}), kept
