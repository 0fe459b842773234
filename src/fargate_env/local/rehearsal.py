"""The rehearsal itself: N tasks behind HAProxy, and what ECS + the ALB do to them."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from fargate_env.config import EnvironmentConfig
from fargate_env.local.cgroup import Capper, describe
from fargate_env.local.haproxy import CheckTiming, HAProxy
from fargate_env.local.instances import Instance, LocalError, free_port, start_instance
from fargate_env.ops.load import BackgroundLoad, LoadReport

# Keep-alive connections the load spreads over, and how long one request may take.
LOAD_CONNECTIONS = 8
LOAD_TIMEOUT_S = 5.0


@dataclass
class FailoverReport:
    killed: str
    detection_s: float  # SIGKILL -> HAProxy reports the target DOWN
    detection_bound_s: float
    replacement_healthy_s: float  # SIGKILL -> the replacement task is UP in HAProxy
    load: LoadReport | None = None
    kill_at: float = 0.0
    down_at: float = 0.0
    survivors: list[str] = field(default_factory=list)


@dataclass
class RestartStep:
    old: str
    new: str
    healthy_s: float  # new task started -> UP in HAProxy
    drain_s: float  # time spent deregistering the old task
    exit_code: int | None  # the old task's exit code after SIGTERM
    stop_s: float  # SIGTERM -> exit


@dataclass
class RestartReport:
    steps: list[RestartStep]
    load: LoadReport | None = None


class Rehearsal:
    """Owns every process it starts; `close()` (or the context manager) stops them all."""

    def __init__(
        self,
        config: EnvironmentConfig,
        *,
        tasks: int = 2,
        scale: float = 1.0,
        port: int | None = None,
        workdir: Path | None = None,
        capper: Capper | None = None,
    ) -> None:
        if tasks < 1:
            raise LocalError("--tasks must be at least 1")
        self.config = config
        self.tasks = tasks
        self.timing = CheckTiming.from_config(config.health_check, scale)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="fargate-env-local-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.capper = capper or Capper.detect()
        # Twice the tasks: a rolling deploy runs old and new side by side.
        self.haproxy = HAProxy(
            self.timing, port=port or free_port(), workdir=self.workdir, slots=2 * tasks + 1
        )
        self.running: dict[str, Instance] = {}  # HAProxy slot -> task
        self._serial = 0

    @property
    def url(self) -> str:
        return self.haproxy.url

    @property
    def cap_description(self) -> str:
        svc = self.config.service
        return describe(svc.cpu, svc.memory, self.capper)

    def __enter__(self) -> Rehearsal:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> None:
        self.haproxy.start()
        slots = [self.launch() for _ in range(self.tasks)]
        for slot in slots:
            self.haproxy.wait_status(slot, "UP", self._registration_timeout())

    def close(self) -> None:
        for instance in self.running.values():
            instance.cleanup()
        self.running.clear()
        self.haproxy.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _registration_timeout(self) -> float:
        # Start-up plus `rise` checks, with room for a loaded 2-core machine.
        return self.timing.registration_bound_s + 10.0

    def launch(self) -> str:
        """Start a task and register it at once, as ECS registers a RUNNING task: HAProxy
        routes to it only after `rise` passing checks."""
        self._serial += 1
        svc = self.config.service
        env = {
            **svc.environment,
            "APP_VERSION": f"local-{self._serial}",
            # Finish draining before the stop timeout, after which ECS would SIGKILL.
            "SHUTDOWN_TIMEOUT_SECONDS": str(svc.drain_seconds),
        }
        instance = start_instance(
            f"task-{self._serial}",
            port=free_port(),
            log_dir=self.workdir,
            capper=self.capper,
            cpu_units=svc.cpu,
            memory_mib=svc.memory,
            env=env,
        )
        try:
            slot = self.haproxy.register(instance.port)
        except BaseException:
            instance.cleanup()
            raise
        self.running[slot] = instance
        return slot

    def failover(
        self, *, load_rate: float = 200.0, settle_s: float | None = None
    ) -> FailoverReport:
        """SIGKILL one task under load; time HAProxy's detection and the replacement."""
        settle = self.timing.interval_s if settle_s is None else settle_s
        victim_slot = next(iter(self.running))
        victim = self.running[victim_slot]
        survivors = [s for s in self.running if s != victim_slot]
        budget = self.timing.detection_bound_s + self._registration_timeout() + settle + 10
        with self._background_load(budget, load_rate) as load:
            time.sleep(settle)  # steady state first, so failures stand out
            kill_at = time.monotonic()
            victim.kill()
            # ECS sees the essential container exit and starts a replacement straight away;
            # the ALB notices on its own, through failed checks.
            new_slot = self.launch()
            detection = self.haproxy.wait_status(
                victim_slot, "DOWN", self.timing.detection_bound_s + 5, poll=0.01
            )
            down_at = kill_at + detection
            detection = time.monotonic() - kill_at
            self.haproxy.wait_status(new_slot, "UP", self._registration_timeout(), poll=0.01)
            replacement = time.monotonic() - kill_at
            time.sleep(settle)
            result = load.finish()
        self.haproxy.deregister(victim_slot)
        self.running.pop(victim_slot).cleanup()
        return FailoverReport(
            killed=victim_slot,
            detection_s=detection,
            detection_bound_s=self.timing.detection_bound_s,
            replacement_healthy_s=replacement,
            load=result,
            kill_at=kill_at,
            down_at=down_at,
            survivors=survivors,
        )

    def _background_load(self, max_duration_s: float, rate: float) -> BackgroundLoad:
        """Paced load at HAProxy for at most `max_duration_s` (the caller stops it sooner)."""
        return BackgroundLoad(
            self.url,
            duration_s=max_duration_s,
            rate=rate,
            connections=LOAD_CONNECTIONS,
            max_requests=math.ceil(rate * max_duration_s) + 1,
            timeout_s=LOAD_TIMEOUT_S,
        )

    def restart(self, *, load_rate: float = 200.0) -> RestartReport:
        """A rolling deploy, one task at a time, as ECS does with minimum healthy 100 %:
        start new -> wait healthy -> deregister old (drain for the delay) -> SIGTERM -> exit."""
        steps: list[RestartStep] = []
        stop_timeout = self.config.service.stop_timeout_seconds
        per_step = self._registration_timeout() + self.timing.deregistration_delay_s + stop_timeout
        with self._background_load(per_step * len(self.running) + 10, load_rate) as load:
            for old_slot in list(self.running):
                started = time.monotonic()
                new_slot = self.launch()
                self.haproxy.wait_status(new_slot, "UP", self._registration_timeout())
                healthy = time.monotonic() - started

                drain_start = time.monotonic()
                self.haproxy.drain(old_slot)
                time.sleep(self.timing.deregistration_delay_s)
                # The ALB cuts what is left after the delay; anything still open is lost there.
                self.haproxy.wait_idle(old_slot, timeout=0.5)
                self.haproxy.deregister(old_slot)
                drain = time.monotonic() - drain_start

                old = self.running.pop(old_slot)
                stop_start = time.monotonic()
                code = old.terminate(timeout=stop_timeout)
                stop = time.monotonic() - stop_start
                old.cleanup()  # SIGKILL if it outlived the stop timeout, as ECS would
                steps.append(RestartStep(old_slot, new_slot, healthy, drain, code, stop))
            result = load.finish()
        return RestartReport(steps=steps, load=result)
