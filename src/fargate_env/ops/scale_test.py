"""Drive CPU load at the service and watch target tracking scale it out and back in."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, call
from fargate_env.ops.load import LoadReport, preflight, run_load
from fargate_env.ops.verify import Deployed, describe_service

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class BackgroundLoad:
    """run_load in its own thread and event loop, stoppable from the polling loop."""

    def __init__(self, url: str, *, duration_s: float, connections: int, max_requests: int) -> None:
        self.stop = threading.Event()
        self.report: LoadReport | None = None
        self._thread = threading.Thread(
            target=self._run, args=(url, duration_s, connections, max_requests), daemon=True
        )

    def _run(self, url: str, duration_s: float, connections: int, max_requests: int) -> None:
        self.report = asyncio.run(
            run_load(
                url,
                duration_s=duration_s,
                connections=connections,
                max_requests=max_requests,
                stop=self.stop,
            )
        )

    def start(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def finish(self, timeout_s: float) -> LoadReport | None:
        self.stop.set()
        self._thread.join(timeout_s)
        return self.report


@dataclass
class ScaleReport:
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


def run_scale_test(
    aws: Aws,
    *,
    load_seconds: float,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    progress: Callable[[str], None] = lambda _: None,
) -> ScaleReport:
    ops = aws.config.ops
    if not 0 < load_seconds <= ops.load_max_duration_seconds:
        raise UserError(
            f"--duration must be above 0 and at most {ops.load_max_duration_seconds} s"
            f" (ops.load_max_duration_seconds) (got {load_seconds:g})"
        )
    deployed = Deployed.read(aws)
    ecs = aws.client("ecs")
    svc = describe_service(ecs, deployed.cluster, deployed.service)
    if svc is None:
        raise UserError(f"service {deployed.service} not found in cluster {deployed.cluster}")
    if svc["desiredCount"] == 0:
        raise UserError(f"service {deployed.service} is scaled to 0 (off-hours?): nothing to load")
    report = ScaleReport(initial_desired=svc["desiredCount"], peak_desired=svc["desiredCount"])
    url = f"{deployed.url}/cpu?ms={ops.scale_test_cpu_ms}"
    preflight(url, ops.http_timeout_seconds)
    progress(f"loading {url} for {load_seconds:g} s with {ops.scale_test_connections} connections")
    background = BackgroundLoad(
        url,
        duration_s=load_seconds,
        connections=ops.scale_test_connections,
        max_requests=ops.load_max_requests,
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
        finished = background.finish(ops.http_timeout_seconds + 5)
        report.load = report.load or finished
        # Leave the service as we found it, even on Ctrl-C or an AWS error mid-test.
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
    return report
