"""Post-deploy checks, per service and by kind. Every long-running kind: it is stable and its
last deployment succeeded (strategy, state, rollback reason). A web service: every target is
healthy and its URL answers its health path. A backend or worker has no URL: its tasks' own
health checks, and for a backend the Service Connect name it is reached at. A job: its schedule
is on, and its last run (if ECS still lists one) exited 0."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from fargate_env import outputs
from fargate_env.config import select_service
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, call
from fargate_env.ops.jobs import family, last_run, read_schedule


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    service: str = ""  # the config's service name ("" for an environment-wide check)


@dataclass(frozen=True)
class Platform:
    """The shared platform stack's outputs the per-service reads build on."""

    cluster: str
    base_url: str  # "" when the environment has no load balancer (no web service)

    @classmethod
    def read(cls, aws: Aws) -> Platform:
        found = aws.stack_outputs(outputs.PLATFORM, outputs.CLUSTER_NAME)
        return cls(cluster=found[outputs.CLUSTER_NAME], base_url=found.get(outputs.BASE_URL, ""))


@dataclass(frozen=True)
class Deployed:
    """One service as the ops commands see it, from the platform's and its own stack outputs."""

    name: str  # the config's service name
    cluster: str
    service: str  # the ECS service name
    target_group_arn: str
    url: str  # where the listener routes to this service (host and path prefix of its route)

    @classmethod
    def read(cls, aws: Aws, service: str | None, platform: Platform | None = None) -> Deployed:
        """`service`: the config's name; None is the only service (several: ConfigError)."""
        name, config = select_service(aws.config, service, ("web",))
        if config.kind != "web":
            raise UserError(
                f"{name} is a {config.kind}: it has no load-balancer target or URL"
                " (this command needs a web service)"
            )
        platform = platform or Platform.read(aws)
        if not platform.base_url:
            raise UserError(
                f"stack {aws.config.stack_name(outputs.PLATFORM)} has no output"
                f" {outputs.BASE_URL}: redeploy with `fargate-env deploy --env {aws.config.name}`"
            )
        svc = aws.service_outputs(name, outputs.SERVICE_NAME, outputs.TARGET_GROUP_ARN)
        return cls(
            name=name,
            cluster=platform.cluster,
            service=svc[outputs.SERVICE_NAME],
            target_group_arn=svc[outputs.TARGET_GROUP_ARN],
            url=outputs.service_url(platform.base_url, *aws.config.service_endpoint(name)),
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


# ECS's strategy names -> the config's (deployment.strategy).
_STRATEGIES = {"ROLLING": "rolling", "BLUE_GREEN": "blue-green", "CANARY": "canary",
               "LINEAR": "linear"}  # fmt: skip


def last_deployment(ecs: Any, cluster: str, service: str) -> Check:
    """The newest service deployment: its strategy, its state and, if ECS rolled it back,
    why (the circuit breaker, or which rollback alarm fired). Only SUCCESSFUL passes: a
    rolled-back deployment leaves a stable service on the old revision, not the new one."""
    name = "last deployment"
    try:
        listed = call(
            ecs.list_service_deployments,
            what="ECS ListServiceDeployments",
            cluster=cluster,
            service=service,
        )["serviceDeployments"]
        if not listed:
            return Check(name, True, "none recorded")
        newest = max(listed, key=lambda d: d.get("createdAt") or d.get("startedAt") or 0)
        found = call(
            ecs.describe_service_deployments,
            what="ECS DescribeServiceDeployments",
            serviceDeploymentArns=[newest["serviceDeploymentArn"]],
        )["serviceDeployments"]
    except UserError as exc:
        return Check(name, False, str(exc))
    except NotImplementedError:  # an emulator (moto) without the service-deployment API
        return Check(name, False, "ListServiceDeployments is not available at this endpoint")
    deployment = found[0] if found else newest
    strategy = (deployment.get("deploymentConfiguration") or {}).get("strategy", "ROLLING")
    status = deployment.get("status", "UNKNOWN")
    detail = f"{_STRATEGIES.get(strategy, strategy.lower())} {status}"
    reason = (deployment.get("rollback") or {}).get("reason") or deployment.get("statusReason")
    if status != "SUCCESSFUL" and reason:
        detail += f": {reason}"
    fired = (deployment.get("alarms") or {}).get("triggeredAlarmNames") or []
    if fired:
        detail += f" (alarm {', '.join(fired)})"
    return Check(name, status == "SUCCESSFUL", detail)


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


def run_verify(
    aws: Aws, service: str | None = None, progress: Callable[[str], None] = lambda _: None
) -> list[Check]:
    """Every service's checks (or `service`'s), each independent of the others' result: a red
    table says more than one line. A service whose stack is missing is one failed check."""
    names = [select_service(aws.config, service)[0]] if service else list(aws.config.services)
    progress("reading stack outputs")
    platform = Platform.read(aws)
    checks: list[Check] = []
    for name in names:
        kind = aws.config.services[name].kind
        try:
            if kind == "web":
                found = verify_service(aws, Deployed.read(aws, name, platform), progress)
            elif kind == "job":
                found = verify_job(aws, name, platform.cluster, progress)
            else:
                found = verify_unrouted(aws, name, platform.cluster, progress)
        except UserError as exc:
            found = [Check("stack outputs", False, str(exc))]
        checks.extend(replace(check, service=name) for check in found)
    return checks


def verify_service(
    aws: Aws, deployed: Deployed, progress: Callable[[str], None] = lambda _: None
) -> list[Check]:
    hc = aws.config.services[deployed.name].health_check
    progress(f"{deployed.name}: describing service {deployed.service}")
    checks = [service_stable(aws.client("ecs"), deployed.cluster, deployed.service)]
    progress(f"{deployed.name}: reading its last deployment")
    checks.append(last_deployment(aws.client("ecs"), deployed.cluster, deployed.service))
    progress(f"{deployed.name}: reading target health")
    checks.append(targets_healthy(aws.client("elbv2"), deployed.target_group_arn))
    progress(f"{deployed.name}: GET {deployed.url}{hc.path}")
    checks.append(http_health(deployed.url + hc.path, aws.config.ops.http_timeout_seconds))
    return checks


def tasks_healthy(ecs: Any, cluster: str, service: str, *, has_check: bool) -> Check:
    """A service without a load balancer is as healthy as its running tasks' essential
    containers say (the container health check). Without one, UNKNOWN is all ECS knows."""
    name = "tasks healthy"
    arns = call(ecs.list_tasks, what="ECS ListTasks", cluster=cluster, serviceName=service,
                desiredStatus="RUNNING")["taskArns"]  # fmt: skip
    if not arns:
        return Check(name, False, "no task running")
    tasks = call(ecs.describe_tasks, what="ECS DescribeTasks", cluster=cluster,
                 tasks=arns[:100])["tasks"]  # fmt: skip
    states = [c.get("healthStatus", "UNKNOWN") for t in tasks for c in t.get("containers", [])]
    bad = [s for s in states if s == "UNHEALTHY" or (has_check and s != "HEALTHY")]
    if bad:
        return Check(name, False, f"{len(bad)} of {len(states)} container(s) {bad[0]}")
    if not has_check:
        return Check(name, True, f"{len(tasks)} running (no container health check)")
    return Check(name, True, f"{len(tasks)}/{len(tasks)} healthy")


def service_connect(ecs: Any, cluster: str, service: str, dns_name: str, port: int) -> Check:
    """A backend is reached through Service Connect at http://NAME:PORT: its primary
    deployment must publish that name and port."""
    name = "service connect"
    want = f"http://{dns_name}:{port}"
    svc = describe_service(ecs, cluster, service) or {}
    primary = next((d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    config = primary.get("serviceConnectConfiguration") or {}
    if not config.get("enabled"):
        return Check(name, False, f"not enabled: {want} does not resolve")
    aliases = [
        f"http://{a.get('dnsName')}:{a.get('port')}"
        for entry in config.get("services", [])
        for a in entry.get("clientAliases", [])
    ]
    if want not in aliases:
        return Check(name, False, f"publishes {', '.join(aliases) or 'nothing'}, not {want}")
    return Check(name, True, f"reached at {want} inside the environment")


def verify_unrouted(
    aws: Aws, name: str, cluster: str, progress: Callable[[str], None] = lambda _: None
) -> list[Check]:
    """A backend or a worker: stable, last deployment, tasks healthy; a backend's address."""
    svc = aws.config.services[name]
    service = aws.service_outputs(name, outputs.SERVICE_NAME)[outputs.SERVICE_NAME]
    ecs = aws.client("ecs")
    progress(f"{name}: describing service {service}")
    checks = [service_stable(ecs, cluster, service), last_deployment(ecs, cluster, service)]
    progress(f"{name}: reading its tasks' health")
    has_check = svc.health_check.container_command is not None
    checks.append(tasks_healthy(ecs, cluster, service, has_check=has_check))
    if svc.kind == "backend":
        checks.append(service_connect(ecs, cluster, service, name, svc.container_port))
    return checks


def verify_job(
    aws: Aws, name: str, cluster: str, progress: Callable[[str], None] = lambda _: None
) -> list[Check]:
    """A job runs nothing between runs: its schedule is on and names the file's expression,
    and its last run ECS still lists (about an hour) exited 0."""
    job = aws.config.services[name].job
    found = aws.service_outputs(name, outputs.TASK_DEFINITION_ARN, outputs.SCHEDULE_NAME)
    progress(f"{name}: reading its schedule")
    schedule = read_schedule(aws, found[outputs.SCHEDULE_NAME])
    want = f"{job.schedule} {job.timezone}"
    if schedule is None:
        checks = [Check("schedule", False, f"{found[outputs.SCHEDULE_NAME]} not found")]
    elif schedule.state != "ENABLED" or f"{schedule.expression} {schedule.timezone}" != want:
        checks = [Check("schedule", False, f"{schedule.describe()}; the file says {want}")]
    else:
        checks = [Check("schedule", True, schedule.describe())]
    progress(f"{name}: reading its last run")
    run = last_run(aws, cluster, family(found[outputs.TASK_DEFINITION_ARN]))
    if run is None:
        detail = f"none listed (ECS lists a stopped task ~1 h); try `fargate-env run-job {name}`"
        checks.append(Check("last run", True, detail))
    else:
        detail = run.describe() + (f": {run.reason}" if run.reason else "")
        checks.append(Check("last run", run.ok, detail))
    return checks
