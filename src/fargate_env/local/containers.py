"""Run a task as a Docker container, with the `docker run` flags that match
its task definition, published on 127.0.0.1 only.

  task-level Cpu / Memory       -> --cpus (units / 1024) / --memory (MiB)
  User / ReadonlyRootFilesystem -> --user / --read-only
  task-local volume mount       -> --tmpfs <container path>
  LinuxParameters               -> --init, --cap-drop / --cap-add
  StopTimeout                   -> --stop-timeout (docker stop's grace period)
  HealthCheck                   -> --health-cmd/-interval/-timeout/-retries/
                                   -start-period (durations x --time-scale);
                                   none in the template: --no-healthcheck (ECS
                                   ignores the image's HEALTHCHECK too)
  Environment / Secrets         -> -e NAME=VALUE / -e NAME=dummy-NAME
  ECR image                     -> sample-server:local (make image)

Docker's `--health-cmd` is a shell command: an exec-form ["CMD", ...] check
runs as the same words under /bin/sh -c.
"""

from __future__ import annotations

import contextlib
import math
import shlex
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from fargate_env.local.instances import LocalError, wait_ready
from fargate_env.local.templates import TaskTemplate

LABEL = "fargate-env.local"
# Which rehearsal a container belongs to (its id).
REHEARSAL_LABEL = "fargate-env.local.rehearsal"
# A Python health command needs about 0.3 s at 0.25 vCPU on a loaded
# machine: a scaled-down timeout never goes below this.
CHECK_TIMEOUT_FLOOR_S = 1.0
DOCKER_CALL_S = 60.0


def dummy_secret(name: str) -> str:
    """What a secret's variable holds locally (the real value lives in AWS)."""
    return f"dummy-{name}"


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def docker(*args: str, timeout: float = DOCKER_CALL_S) -> str:
    """Run one docker CLI command; LocalError (one line) when it fails."""
    try:
        proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LocalError(f"docker {args[0]} did not answer within {timeout:g} s") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["(no message)"]
        raise LocalError(f"docker {args[0]} failed: {lines[-1]}")
    return proc.stdout.strip()


def engine_version(timeout: float = 10.0) -> tuple[str | None, str]:
    """(the engine's version, "") when one answers, else (None, why not)."""
    if shutil.which("docker") is None:
        return None, "no docker CLI on PATH"
    try:
        proc = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, f"no Docker engine answered within {timeout:g} s"
    if proc.returncode != 0 or not proc.stdout.strip():
        lines = proc.stderr.strip().splitlines() or ["docker version failed"]
        return None, f"no Docker engine answers ({lines[-1]})"
    return proc.stdout.strip(), ""


def image_present(image: str) -> bool:
    proc = subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=30)
    return proc.returncode == 0


def check_args(task: TaskTemplate, scale: float) -> list[str]:
    check = task.check
    if check is None or check.command[:1] == ("NONE",):
        return ["--no-healthcheck"]
    kind, *words = check.command
    command = words[0] if kind == "CMD-SHELL" else shlex.join(words)
    timeout = max(check.timeout_s * scale, CHECK_TIMEOUT_FLOOR_S)
    return [
        "--health-cmd", command,
        "--health-interval", _duration(check.interval_s * scale),
        "--health-timeout", _duration(min(timeout, check.timeout_s)),
        "--health-retries", str(check.retries),
        "--health-start-period", _duration(check.start_period_s * scale),
    ]  # fmt: skip


def task_environment(task: TaskTemplate, extra: dict[str, str]) -> dict:
    """The container's variables: the template's, each secret as a dummy,
    then `extra` (the rehearsal's own additions)."""
    return {
        **task.environment,
        **{name: dummy_secret(name) for name in task.secrets},
        **extra,
    }


def docker_run_args(
    task: TaskTemplate,
    *,
    name: str,
    port: int | None,
    scale: float = 1.0,
    labels: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    network: str | None = None,
    aliases: tuple[str, ...] = (),
) -> list[str]:
    """`docker run -d ...` for one task, its container port on
    127.0.0.1:`port` (None: published nowhere), on `network` under
    `aliases` (the names other tasks reach it by)."""
    args = ["run", "-d", "--name", name]
    if port is not None and task.container_port is not None:
        args += ["-p", f"127.0.0.1:{port}:{task.container_port}"]
    if network is not None:
        args += ["--network", network]
        for alias in aliases:
            args += ["--network-alias", alias]
    args += [
        "--cpus", f"{task.cpu_units / 1024:g}",
        "--memory", f"{task.memory_mib}m",
        "--stop-timeout", str(task.stop_timeout_s),
    ]  # fmt: skip
    if task.user:
        args += ["--user", task.user]
    if task.read_only:
        args.append("--read-only")
    for path in task.tmpfs:
        args += ["--tmpfs", path]
    if task.init:
        args.append("--init")
    for cap in task.cap_drop:
        args += ["--cap-drop", cap]
    for cap in task.cap_add:
        args += ["--cap-add", cap]
    args += check_args(task, scale)
    for key, value in (labels or {}).items():
        args += ["--label", f"{key}={value}"]
    for key, value in task_environment(task, extra_env or {}).items():
        args += ["-e", f"{key}={value}"]
    args.append(task.image)
    args.extend(task.command or ())  # the task definition's command replaces the CMD
    return args


@dataclass
class ContainerTask:
    """One running task container. `docker wait` runs beside it, so whether
    it is alive, and its exit code, cost no docker call."""

    name: str
    container: str
    port: int | None
    log_path: Path
    waiter: subprocess.Popen[str]
    pid: int
    started_at: float = field(default_factory=time.monotonic)
    cgroup: None = None
    _exit_code: int | None = None
    _removed: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        if self.waiter.poll() is None:
            return True
        if self._exit_code is None:
            out = (self.waiter.stdout.read() if self.waiter.stdout else "") or ""
            self._exit_code = int(out.strip()) if out.strip().isdigit() else -1
            self.save_logs()
        return False

    @property
    def exit_code(self) -> int | None:
        return None if self.alive() else self._exit_code

    def health(self) -> str:
        """Docker's verdict on the container check: starting, healthy,
        unhealthy ("" without a check)."""
        return docker(
            "inspect", "-f",
            "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
            self.container,
        )  # fmt: skip

    def inspect(self, template: str) -> str:
        return docker("inspect", "-f", template, self.container)

    def wait_ready(self, path: str = "/ready", timeout: float = 10.0) -> float:
        """Seconds from `docker run` until `path` answers 200."""
        return wait_ready(self, path, timeout)

    def terminate(self, timeout: float) -> int | None:
        """`docker stop` (SIGTERM, SIGKILL after `timeout` s); the exit code."""
        if self.alive():
            grace = str(max(1, math.ceil(timeout)))
            with contextlib.suppress(LocalError):
                docker("stop", "--time", grace, self.container,
                       timeout=timeout + DOCKER_CALL_S)  # fmt: skip
        return self._reap(5.0)

    def kill(self) -> None:
        """`docker kill`: SIGKILL to the task, as when a Fargate task dies."""
        if self.alive():
            with contextlib.suppress(LocalError):
                docker("kill", self.container)
        self._reap(DOCKER_CALL_S)

    def _reap(self, timeout: float) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.waiter.wait(timeout)
        return self.exit_code

    def save_logs(self) -> None:
        if self._removed:
            return
        proc = subprocess.run(
            ["docker", "logs", self.container],
            capture_output=True,
            timeout=DOCKER_CALL_S,
        )
        self.log_path.write_bytes(proc.stdout + proc.stderr)

    def cleanup(self) -> None:
        """Always safe: keep the logs, then `docker rm -f` by name."""
        if not self._removed:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self.save_logs()
            subprocess.run(
                ["docker", "rm", "-f", self.container],
                capture_output=True,
                timeout=DOCKER_CALL_S,
            )
            self._removed = True
        if self.waiter.poll() is None:
            self.waiter.kill()
        self.waiter.wait()


def start_container(
    name: str,
    task: TaskTemplate,
    *,
    port: int | None,
    log_dir: Path,
    scale: float = 1.0,
    labels: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    network: str | None = None,
    aliases: tuple[str, ...] = (),
) -> ContainerTask:
    """`docker run -d` one task; removed again if anything after fails."""
    container = f"fargate-env-{name}-{uuid.uuid4().hex[:8]}"
    args = docker_run_args(
        task,
        name=container,
        port=port,
        scale=scale,
        labels={LABEL: "task", **(labels or {})},
        extra_env=extra_env,
        network=network,
        aliases=aliases,
    )
    started = time.monotonic()
    try:
        docker(*args)
        pid = int(docker("inspect", "-f", "{{.State.Pid}}", container))
        waiter = subprocess.Popen(
            ["docker", "wait", container],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
    except BaseException:
        subprocess.run(
            ["docker", "rm", "-f", container],
            capture_output=True,
            timeout=DOCKER_CALL_S,
        )
        raise
    return ContainerTask(
        name=name,
        container=container,
        port=port,
        log_path=log_dir / f"{name}.log",
        waiter=waiter,
        pid=pid,
        started_at=started,
    )


@dataclass(frozen=True)
class HealthEvent:
    at: float  # time.monotonic() when it was read
    container: str
    status: str  # healthy, unhealthy


class HealthEvents:
    """`docker events` for the health-check verdicts of the containers that
    carry `labels`, read on a thread: one process, not a poll per task."""

    def __init__(self, labels: dict[str, str]) -> None:
        filters = ["--filter", "type=container"]
        filters += ["--filter", "event=health_status"]
        for key, value in labels.items():
            filters += ["--filter", f"label={key}={value}"]
        self.proc = subprocess.Popen(
            ["docker", "events", *filters, "--format",
             "{{.Actor.Attributes.name}} {{.Status}}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        self.events: list[HealthEvent] = []
        self._taken = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            name, _, status = line.strip().partition(" ")
            event = HealthEvent(time.monotonic(), name, status.rsplit(" ", 1)[-1])
            with self._lock:
                self.events.append(event)

    def take(self) -> list[HealthEvent]:
        """The events since the last call."""
        with self._lock:
            new = self.events[self._taken :]
            self._taken = len(self.events)
        return new

    def first(self, container: str, status: str) -> HealthEvent | None:
        with self._lock:
            for event in self.events:
                if event.container == container and event.status == status:
                    return event
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(5)
