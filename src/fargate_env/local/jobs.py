"""One run of a scheduled job, now: its container (or process) with the task definition's
command and environment, as EventBridge Scheduler's RunTask would start it; wait for the
exit code, stop it at the job's timeout."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fargate_env.local import containers
from fargate_env.local.cgroup import Capper
from fargate_env.local.containers import ContainerTask, start_container
from fargate_env.local.instances import Instance, process_command, start_instance
from fargate_env.local.templates import ServiceTemplate

# The run's own output shown after it ends; the rest stays in its log.
OUTPUT_LINES = 20


@dataclass(frozen=True)
class JobRun:
    name: str
    what: str  # "container NAME" or "process PID"
    exit_code: int | None  # None: still running at the timeout, then stopped
    duration_s: float
    timeout_s: float
    output: list[str]  # its last OUTPUT_LINES lines

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


def run_job(
    template: ServiceTemplate,
    *,
    runtime: str,
    workdir: Path,
    timeout_s: float,
    capper: Capper | None = None,
    progress: Callable[[str], None] | None = None,
) -> JobRun:
    """Start the job's task once, wait up to `timeout_s` for it to exit; past that it gets
    SIGTERM (then SIGKILL after its stop timeout), as a run that overstays is stopped."""
    task = template.task
    name = f"{template.name}-run-{uuid.uuid4().hex[:6]}"
    run: Instance | ContainerTask
    if runtime == "docker":
        run = start_container(name, task, port=None, log_dir=workdir)
        what = f"container {run.container}"
    else:
        run = start_instance(
            name,
            port=None,
            log_dir=workdir,
            capper=capper or Capper.detect(),
            cpu_units=task.cpu_units,
            memory_mib=task.memory_mib,
            env=containers.task_environment(task, {}),
            command=process_command(task.command, template.name),
        )
        what = f"process {run.pid}"
    try:
        if progress is not None:
            progress(f"{template.name}: started {what}")
        started = run.started_at
        deadline = started + timeout_s
        while run.alive() and time.monotonic() < deadline:
            _wait(run, deadline - time.monotonic())
        code = run.exit_code
        if code is None:
            run.terminate(timeout=task.stop_timeout_s)
        duration = time.monotonic() - started
    finally:
        run.cleanup()  # keeps a container's logs in its log file first
    lines = run.log_path.read_text(errors="replace").splitlines() if run.log_path.exists() else []
    return JobRun(template.name, what, code, duration, timeout_s, lines[-OUTPUT_LINES:])


def _wait(run: Instance | ContainerTask, seconds: float) -> None:
    """Block until the run exits or `seconds` pass (its process, or `docker wait`)."""
    proc = run.proc if isinstance(run, Instance) else run.waiter
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(min(max(0.0, seconds), 60.0))  # no timeout: wait in steps
