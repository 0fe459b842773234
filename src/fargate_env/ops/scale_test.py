"""Drive CPU load at the service and watch target tracking scale it out and back in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, call
from fargate_env.ops.load import BackgroundLoad, LoadReport, check_duration, preflight
from fargate_env.ops.verify import Deployed, describe_service

Clock = Callable[[], float]
# The sample server keeps /cpu off unless its task has this secret, then wants it in a header.
CPU_TOKEN_VARIABLE = "CPU_ENDPOINT_TOKEN"
CPU_TOKEN_HEADER = "X-Cpu-Token"
Sleep = Callable[[float], None]


@dataclass
class ScaleReport:
    service: str
    initial_desired: int
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (t, desired, running)
    scaled_out_s: float | None = None
    peak_desired: int = 0
    scaled_in_s: float | None = None
    restored_from: int | None = None  # desired count we put back to initial_desired
    load: LoadReport | None = None

    @property
    def ok(self) -> bool:
        return self.scaled_out_s is not None and self.scaled_in_s is not None


def cpu_token(aws: Aws, service: str) -> str:
    """The /cpu token the service's task receives as a secret, read where it is kept."""
    ref = aws.config.services[service].secrets.get(CPU_TOKEN_VARIABLE)
    if ref is None:
        raise UserError(
            f"services.{service}.secrets.{CPU_TOKEN_VARIABLE} is not set: the sample server"
            " keeps /cpu off without it; store a token (16+ characters) in Secrets Manager or"
            " SSM, name it there, and deploy"
        )
    if ref.startswith("arn:"):
        found = call(
            aws.client("secretsmanager").get_secret_value,
            what=f"Secrets Manager GetSecretValue {ref}",
            SecretId=ref,
        )
        return found["SecretString"]
    found = call(
        aws.client("ssm").get_parameter,
        what=f"SSM GetParameter {ref}",
        Name=ref,
        WithDecryption=True,
    )
    return found["Parameter"]["Value"]


def run_scale_test(
    aws: Aws,
    service: str | None = None,
    *,
    load_seconds: float,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    progress: Callable[[str], None] = lambda _: None,
) -> ScaleReport:
    ops = aws.config.ops
    check_duration(load_seconds, ops)
    deployed = Deployed.read(aws, service)
    scaling = aws.config.services[deployed.name].scaling
    ecs = aws.client("ecs")
    svc = describe_service(ecs, deployed.cluster, deployed.service)
    if svc is None:
        raise UserError(f"service {deployed.service} not found in cluster {deployed.cluster}")
    if svc["desiredCount"] == 0:
        raise UserError(f"service {deployed.service} is scaled to 0 (off-hours?): nothing to load")
    if svc["desiredCount"] >= scaling.max_tasks:
        raise UserError(
            f"service {deployed.service} already runs {svc['desiredCount']} task(s), its"
            f" scaling.max_tasks ({scaling.max_tasks}): no scale-out to observe; raise"
            f" services.{deployed.name}.scaling.max_tasks and deploy"
        )
    report = ScaleReport(
        service=deployed.name,
        initial_desired=svc["desiredCount"],
        peak_desired=svc["desiredCount"],
    )
    url = f"{deployed.url}/cpu?ms={ops.scale_test_cpu_ms}"
    preflight(url, ops.http_timeout_seconds)  # reachable at all? (any answer will do)
    headers = {CPU_TOKEN_HEADER: cpu_token(aws, deployed.name)}
    progress(f"loading {url} for {load_seconds:g} s with {ops.scale_test_connections} connections")
    background = BackgroundLoad(
        url,
        duration_s=load_seconds,
        connections=ops.scale_test_connections,
        max_requests=ops.load_max_requests,
        headers=headers,
    ).start()
    t0 = clock()
    load_end = t0 + load_seconds
    deadline = load_end + ops.scale_in_wait_seconds
    loading = True
    try:
        while (now := clock()) <= deadline:
            current = describe_service(ecs, deployed.cluster, deployed.service) or {}
            desired, running = current.get("desiredCount", 0), current.get("runningCount", 0)
            if not report.timeline or report.timeline[-1][1:] != (desired, running):
                report.timeline.append((now - t0, desired, running))
                progress(f"{now - t0:5.0f} s  desired {desired}, running {running}")
            report.peak_desired = max(report.peak_desired, desired)
            if report.scaled_out_s is None and desired > report.initial_desired:
                report.scaled_out_s = now - t0
            if report.scaled_out_s is not None and desired <= report.initial_desired:
                report.scaled_in_s = now - t0
                break
            if loading and now >= load_end:
                loading = False
                report.load = background.finish(ops.http_timeout_seconds + 5)
                progress("load stopped; waiting for scale-in")
                if report.scaled_out_s is None:
                    break  # never scaled out: nothing to wait for
            sleep(ops.poll_interval_seconds)
    finally:
        try:
            finished = background.finish(ops.http_timeout_seconds + 5)
            report.load = report.load or finished
        finally:
            # Leave the service as we found it, even on Ctrl-C or an AWS error mid-test.
            _restore_desired(ecs, deployed, report)
    return report


def _restore_desired(ecs: Any, deployed: Deployed, report: ScaleReport) -> None:
    current = describe_service(ecs, deployed.cluster, deployed.service) or {}
    if current.get("desiredCount", report.initial_desired) != report.initial_desired:
        report.restored_from = current["desiredCount"]
        call(
            ecs.update_service,
            what="ECS UpdateService",
            cluster=deployed.cluster,
            service=deployed.service,
            desiredCount=report.initial_desired,
        )
