"""The rehearsal itself: every service's tasks behind one HAProxy routing like the shared ALB,
and what ECS + the ALB do to them.

What runs is read from the synthesized templates (fargate_env.local.templates): each task is a
Docker container with its task definition's flags (fargate_env.local.containers), or, when no
Docker engine answers or the image is missing, a `python -m sample_server` process fed the same
environment and capped by a cgroup (fargate_env.local.instances); HAProxy gets the target
groups' checks and the listener rules.
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fargate_env.config import EnvironmentConfig, Route, select_service
from fargate_env.local import containers
from fargate_env.local.canary import (
    CanaryReport,
    Period,
    RateRule,
    Retired,
    canary_weights,
)
from fargate_env.local.cgroup import Capper, describe
from fargate_env.local.containers import ContainerTask, HealthEvents, start_container
from fargate_env.local.haproxy import BackendSpec, CheckTiming, HAProxy
from fargate_env.local.instances import (
    Instance,
    LocalError,
    free_port,
    process_command,
    start_instance,
)
from fargate_env.local.kinds import (
    connect_rewrite,
    container_timing,
    create_network,
    process_check_passes,
    remove_network,
)
from fargate_env.local.signals import deferred_signals, no_interrupt
from fargate_env.local.templates import Deployed, ServiceTemplate, read_deployed, synthesize
from fargate_env.ops.load import BackgroundLoad, LoadReport

# Keep-alive connections each service's load spreads over, and how long one request may take.
LOAD_CONNECTIONS = 8
LOAD_TIMEOUT_S = 5.0
# How often the runtime API is asked for every slot's status while waiting on several.
POLL_S = 0.01
# How often a task's container check is looked at while waiting for it to pass.
CHECK_POLL_S = 0.2

Progress = Callable[[str], None]
Task = Instance | ContainerTask
Runtime = Literal["auto", "docker", "process"]


def route_of(routes: Iterable[Route], host: str | None, path: str) -> str | None:
    """The service the ALB sends a request to (None: the fixed response), by its own rules:
    lowest priority first, hosts case-insensitive, paths case-sensitive, `*` and `?`."""
    hostname = (host or "").split(":")[0].lower()
    for route in sorted(routes, key=lambda r: r.priority):
        host_ok = not route.hosts or any(
            fnmatch.fnmatchcase(hostname, h.lower()) for h in route.hosts
        )
        path_ok = not route.paths or any(fnmatch.fnmatchcase(path, p) for p in route.paths)
        if host_ok and path_ok:
            return route.service
    return None


@dataclass
class ServiceTasks:
    """One service of the rehearsal: its templates, its check numbers and its running tasks."""

    name: str
    template: ServiceTemplate
    timing: CheckTiming  # the target group's check; a backend's or worker's container check
    running: dict[str, Task] = field(default_factory=dict)  # slot ("web/task1") -> task
    serial: int = 0

    @property
    def kind(self) -> str:
        return self.template.kind

    @property
    def registration_timeout_s(self) -> float:
        # Start-up plus `rise` checks, with room for a loaded 2-core machine; more for a
        # container check, a new Python process per check at the task's CPU share.
        return self.timing.registration_bound_s + (10.0 if self.kind == "web" else 30.0)


@dataclass
class LoadSet:
    """The load on every service at once, one report per service; `skipped` says why a
    service got none."""

    reports: dict[str, LoadReport] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def failed(self) -> int:
        return sum(len(r.failed()) for r in self.reports.values())


@dataclass
class FailoverReport:
    service: str
    killed: str
    detection_s: float  # SIGKILL -> HAProxy reports the target DOWN
    detection_bound_s: float
    replacement_healthy_s: float  # SIGKILL -> the replacement task is UP in HAProxy
    loads: LoadSet = field(default_factory=LoadSet)
    kill_at: float = 0.0
    down_at: float = 0.0
    replacement: str = ""
    survivors: list[str] = field(default_factory=list)
    container: bool = False  # the task was a container (killed with `docker kill`)

    @property
    def load(self) -> LoadReport | None:
        """The load on the service that lost a task."""
        return self.loads.reports.get(self.service)


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
    service: str
    steps: list[RestartStep]
    loads: LoadSet = field(default_factory=LoadSet)

    @property
    def load(self) -> LoadReport | None:
        return self.loads.reports.get(self.service)


def _timing(template: ServiceTemplate, scale: float) -> CheckTiming:
    """A web service's target-group check; any other kind's container check."""
    if template.health_check is not None:
        return CheckTiming.from_config(template.health_check, scale)
    return container_timing(template.task.check, scale)


def choose_runtime(deployed: Deployed, wanted: Runtime = "auto") -> tuple[str, str]:
    """("docker" | "process", one line saying what runs and, for a fallback, why)."""
    images = sorted({s.task.image for s in deployed.services.values()})
    if wanted == "process":
        return "process", "tasks run as processes (--runtime process)"
    version, problem = containers.engine_version()
    if version is not None:
        missing = [i for i in images if not containers.image_present(i)]
        if missing:
            problem = f"no image {missing[0]} (make image)"
    if problem:
        if wanted == "docker":
            raise LocalError(f"--runtime docker: {problem}")
        return "process", f"{problem}: falling back to tasks as processes"
    sources = sorted({s.task.image_source for s in deployed.services.values()})
    return "docker", (
        f"tasks run as containers of {', '.join(images)} (for {', '.join(sources)};"
        f" Docker {version})"
    )


def web_service(config: EnvironmentConfig, name: str | None) -> str:
    """`--service NAME` of failover, restart and deploy: a web service (the one kind behind
    the load balancer); implied when the environment has one, else required (ConfigError).
    Another kind is refused in one line (LocalError)."""
    name, svc = select_service(config, name, ("web",))
    if svc.kind != "web":
        raise LocalError(
            f"{name} is a {svc.kind}: this rehearses a web service behind the load balancer"
        )
    return name


class Rehearsal:
    """Owns every process and container it starts; `close()` (or the context manager) stops
    them all.

    `deployed` is what the synthesized templates hold; without it the config is synthesized
    into the work directory first. `runtime` "auto" runs containers when a Docker engine
    answers and the image exists, processes otherwise (`runtime_note` says which and why).
    """

    def __init__(
        self,
        config: EnvironmentConfig,
        *,
        tasks: int = 2,
        scale: float = 1.0,
        port: int | None = None,
        workdir: Path | None = None,
        capper: Capper | None = None,
        progress: Progress | None = None,
        deployed: Deployed | None = None,
        runtime: Runtime = "auto",
    ) -> None:
        if tasks < 1:
            raise LocalError("--tasks must be at least 1")
        self.config = config
        self.tasks = tasks
        self.scale = scale
        self.progress: Progress = progress or (lambda _line: None)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="fargate-env-local-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.deployed = deployed or read_deployed(synthesize(config, self.workdir))
        if sorted(self.deployed.services) != sorted(config.services):
            raise LocalError(
                f"{self.deployed.source}: holds services {', '.join(self.deployed.services)};"
                f" the environment has {', '.join(config.services)}"
            )
        for name, t in self.deployed.services.items():
            if config.services[name].kind != t.kind:
                raise LocalError(
                    f"{self.deployed.source}: {name} is a {t.kind} there, a"
                    f" {config.services[name].kind} in the environment; synthesize again"
                )
        # Jobs run only when asked (run-job): nothing of theirs runs in between.
        self.services = {
            name: ServiceTasks(name, t, _timing(t, scale))
            for name, t in self.deployed.services.items()
            if t.long_running
        }
        self.runtime, self.runtime_note = choose_runtime(self.deployed, runtime)
        self.capper = capper or Capper.detect()
        self.id = uuid.uuid4().hex[:8]
        self.health_events: HealthEvents | None = None
        self.network: str | None = None  # the Docker network of Service Connect
        # A backend's (name, port) -> the loopback port of its stand-in (processes).
        self.connect_ports = {
            s.template.alias: free_port()
            for s in self.services.values()
            if s.template.alias and self.runtime == "process"
        }
        # Twice the tasks per service: a rolling deploy runs old and new side by side.
        self.haproxy = HAProxy(
            [
                BackendSpec(
                    s.name, s.timing, 2 * tasks + 1, self.connect_ports.get(s.template.alias)
                )
                for s in self.services.values()
                if self._behind_haproxy(s)
            ],
            self.deployed.routes,
            self.deployed.default_service,
            port=port or free_port(),
            workdir=self.workdir,
            no_match=self.deployed.no_match,
            idle_timeout_s=self.deployed.idle_timeout_s,
        )
        self._seen: dict[str, str] = {}  # slot -> the status changes() last saw

    @property
    def routes(self) -> list[Route]:
        return self.deployed.routes

    @property
    def url(self) -> str:
        return self.haproxy.url

    def _behind_haproxy(self, svc: ServiceTasks) -> bool:
        """A web service's tasks (the ALB), and a backend's run as processes (its Service
        Connect stand-in)."""
        return svc.kind == "web" or (svc.kind == "backend" and self.runtime == "process")

    def connect_notes(self) -> list[str]:
        """How each backend is reached by name in this rehearsal, one line each."""
        notes = []
        for (name, port), local in self.connect_ports.items():
            notes.append(
                f"http://{name}:{port} -> 127.0.0.1:{local} (HAProxy over {name}'s tasks;"
                f" the tasks' variables naming {name}:{port} are rewritten to it)"
            )
        if self.network is not None:
            for svc in self.services.values():
                if svc.template.alias:
                    name, port = svc.template.alias
                    notes.append(
                        f"http://{name}:{port} from every task (Docker network"
                        f" {self.network}, alias {name})"
                    )
        return notes

    def service(self, name: str | None = None) -> ServiceTasks:
        """`--service NAME`: a web service (see web_service)."""
        return self.services[web_service(self.config, name)]

    def cap_description(self, service: str) -> str:
        task = self.services[service].template.task
        if self.runtime == "docker":
            return (
                f"capped at {task.cpu_units / 1024:g} vCPU / {task.memory_mib} MiB"
                " (docker --cpus / --memory)"
            )
        return describe(task.cpu_units, task.memory_mib, self.capper)

    @property
    def running(self) -> dict[str, Task]:
        """Every running task of every service, by slot ("web/task1")."""
        return {slot: i for s in self.services.values() for slot, i in s.running.items()}

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
        if self.runtime == "docker":
            labels = {containers.REHEARSAL_LABEL: self.id}
            self.health_events = HealthEvents(labels)
            if any(s.template.alias for s in self.services.values()):
                self.network = create_network(self.id, labels)
        self.haproxy.start()
        self.progress(f"HAProxy (pid {self.haproxy.pid}) listening at {self.url}")
        for line in self.connect_notes():
            self.progress(line)
        waiting: dict[str, float] = {}
        checked: dict[str, float] = {}  # judged by their container check
        for svc in self.services.values():
            for _ in range(self.tasks):
                slot = self.launch(svc)
                (waiting if self._behind_haproxy(svc) else checked)[slot] = time.monotonic()
        timeout = max((s.registration_timeout_s for s in self.services.values()), default=0)
        for slot, seconds in self._await({s: "UP" for s in waiting}, timeout, since=waiting):
            self.progress(f"{slot}: healthy after {seconds:.2f} s")
        for slot, seconds in self._await_checks(checked, timeout):
            if self.health_events is None:  # a container's shows among the changes below
                self.progress(f"{slot}: container check healthy after {seconds:.2f} s")
        for line in self.changes():  # the first call reports container checks only
            self.progress(line)

    def changes(self) -> list[str]:
        """What changed since the last call: a slot's HAProxy status, a task that exited."""
        lines = []
        servers = self.haproxy.servers()
        for slot, instance in self.running.items():
            seen = self._seen.get(slot)
            status = servers[slot].status if slot in servers else "running"
            if not instance.alive():
                status = f"{status}, {instance.name} exited with code {instance.exit_code}"
            if seen is not None and seen != status:
                lines.append(f"{slot}: {status}")
            self._seen[slot] = status
        if self.health_events is not None:
            slots = {
                i.container: slot
                for slot, i in self.running.items()
                if isinstance(i, ContainerTask)
            }
            for event in self.health_events.take():
                slot = slots.get(event.container)
                if slot is not None:
                    since = event.at - self.running[slot].started_at
                    lines.append(
                        f"{slot}: container check {event.status} {since:.2f} s after docker run"
                    )
        return lines

    def close(self) -> None:
        with no_interrupt():
            for svc in self.services.values():
                for instance in svc.running.values():
                    instance.cleanup()
                svc.running.clear()
            self.haproxy.stop()
            if self.health_events is not None:
                self.health_events.stop()
                self.health_events = None
            if self.network is not None:
                remove_network(self.network)
                self.network = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def task_environment(
        self, svc: ServiceTasks, port: int | None = None, extra_env: dict[str, str] | None = None
    ) -> dict[str, str]:
        """What the task definition gives the container: its variables, each secret as a
        dummy value, plus APP_VERSION (local-N) to tell the tasks apart and `extra_env` (a
        new version's changes). A process gets `port` as PORT (a container keeps the
        template's and is published instead)."""
        extra = {"APP_VERSION": f"local-{svc.serial}", **(extra_env or {})}
        if port is not None:
            extra["PORT"] = str(port)
        env = containers.task_environment(svc.template.task, extra)
        return connect_rewrite(env, self.connect_ports)

    def launch(
        self,
        svc: ServiceTasks,
        *,
        extra_env: dict[str, str] | None = None,
        weight: int | None = None,
    ) -> str:
        """Start a task and register it at once, as ECS registers a RUNNING task: HAProxy
        routes to it only after `rise` passing checks (and never with `weight` 0)."""
        svc.serial += 1
        task = svc.template.task
        name = f"{svc.name}-task-{svc.serial}"
        # A container publishes a web task's port only (HAProxy's target); a process always
        # needs a port of its own to listen on, if only for its container check.
        port: int | None = free_port()
        instance: Task
        if self.runtime == "docker":
            port = port if svc.kind == "web" else None
            alias = svc.template.alias
            instance = start_container(
                name,
                task,
                port=port,
                log_dir=self.workdir,
                scale=self.scale,
                labels={containers.REHEARSAL_LABEL: self.id},
                extra_env={"APP_VERSION": f"local-{svc.serial}", **(extra_env or {})},
                network=self.network,
                aliases=(alias[0],) if alias else (),
            )
            what = f"container {instance.container}, "
        else:
            instance = start_instance(
                name,
                port=port,
                log_dir=self.workdir,
                capper=self.capper,
                cpu_units=task.cpu_units,
                memory_mib=task.memory_mib,
                env=self.task_environment(svc, port, extra_env),
                command=process_command(task.command, svc.name),
            )
            what = ""
        try:
            if self._behind_haproxy(svc):
                assert port is not None
                slot = self.haproxy.register(svc.name, port)
            else:
                slot = f"{svc.name}/task{svc.serial}"
            if weight is not None:
                self.haproxy.set_weights({slot: weight})
        except BaseException:
            instance.cleanup()
            raise
        svc.running[slot] = instance
        where = f"port {port}" if port is not None else "no port"
        self.progress(f"{slot}: started {instance.name} (pid {instance.pid}, {what}{where})")
        return slot

    def _check_passes(self, slot: str) -> bool:
        """One look at a task's container check: Docker's verdict, or the check run now."""
        svc = self.services[slot.split("/", 1)[0]]
        task = self.running[slot]
        if isinstance(task, ContainerTask):
            return task.health() in ("healthy", "")
        env = self.task_environment(svc, task.port)
        return process_check_passes(svc.template.task, env, svc.name)

    def _await_checks(self, since: dict[str, float], timeout: float) -> Iterator[tuple[str, float]]:
        """Yield (slot, seconds) as each task's container check passes; LocalError when a
        task exits starting or time is up."""
        pending = dict(since)
        deadline = time.monotonic() + timeout
        while pending:
            for slot in list(pending):
                task = self.running[slot]
                if not task.alive():
                    raise LocalError(
                        f"{slot}: {task.name} exited with code {task.exit_code} while"
                        f" starting; see {task.log_path}"
                    )
                if self._check_passes(slot):
                    yield slot, time.monotonic() - pending.pop(slot)
            if not pending:
                return
            if time.monotonic() > deadline:
                slot = next(iter(pending))
                raise LocalError(f"{slot}: its container check did not pass within {timeout:g} s")
            time.sleep(CHECK_POLL_S)

    def _await(
        self, wanted: dict[str, str], timeout: float, *, since: dict[str, float] | float
    ) -> Iterator[tuple[str, float]]:
        """Yield (slot, seconds) as each slot reaches its wanted status, timed from `since`
        (one instant, or one per slot); LocalError when a task dies starting or time is up."""
        pending = dict(wanted)
        deadline = time.monotonic() + timeout
        while pending:
            servers = self.haproxy.servers()
            now = time.monotonic()
            for slot, status in list(pending.items()):
                if servers[slot].status == status:
                    del pending[slot]
                    start = since[slot] if isinstance(since, dict) else since
                    yield slot, now - start
                elif status == "UP" and not self.running[slot].alive():
                    task = self.running[slot]
                    raise LocalError(
                        f"{slot}: {task.name} exited with code {task.exit_code} while"
                        f" starting; see {task.log_path}"
                    )
            if not pending:
                return
            if now > deadline:
                slot, status = next(iter(pending.items()))
                raise LocalError(f"HAProxy did not report {slot} {status} within {timeout:g} s")
            time.sleep(POLL_S)

    @contextlib.contextmanager
    def _loads(self, max_duration_s: float, rate: float) -> Iterator[LoadSet]:
        """Paced load on every service's route at once, for at most `max_duration_s`; the
        reports land in the LoadSet when the block ends."""
        result = LoadSet()
        loads: dict[str, BackgroundLoad] = {}
        for name, svc in self.services.items():
            if svc.kind != "web":
                continue  # reached by name or not at all: no route to load
            url = self.load_url(name)
            if url is None:
                result.skipped[name] = "its route needs a Host header the load cannot send"
                continue
            result.urls[name] = url
            loads[name] = BackgroundLoad(
                url,
                duration_s=max_duration_s,
                rate=rate,
                connections=LOAD_CONNECTIONS,
                max_requests=math.ceil(rate * max_duration_s) + 1,
                timeout_s=LOAD_TIMEOUT_S,
            )
        try:
            with deferred_signals():
                for load in loads.values():
                    load.start()
            yield result
        finally:
            with deferred_signals():
                for name, load in loads.items():
                    report = load.finish()
                    if report is not None:
                        result.reports[name] = report

    def load_url(self, service: str) -> str | None:
        """Where a service answers through the HAProxy (None: only with a Host header)."""
        host, path = self.deployed.endpoint(service)
        path = path or "/"
        if host is not None or route_of(self.routes, None, path) != service:
            return None
        return self.url + path

    def failover(
        self, service: str | None = None, *, load_rate: float = 100.0, settle_s: float | None = None
    ) -> FailoverReport:
        """SIGKILL one task of a service under load on every service; time, each from the
        kill, HAProxy marking it DOWN and the replacement becoming UP."""
        svc = self.service(service)
        settle = svc.timing.interval_s if settle_s is None else settle_s
        victim_slot = next(iter(svc.running))
        victim = svc.running[victim_slot]
        survivors = [s for s in svc.running if s != victim_slot]
        detection_timeout = svc.timing.detection_bound_s + 5
        budget = max(detection_timeout, svc.registration_timeout_s) + 2 * settle + 10
        with self._loads(budget, load_rate) as loads:
            time.sleep(settle)  # steady state first, so failures stand out
            kill_at = time.monotonic()
            victim.kill()
            # ECS sees the essential container exit and starts a replacement straight away;
            # the ALB notices on its own, through failed checks. Both clocks run from the kill.
            new_slot = self.launch(svc)
            times = dict(
                self._await(
                    {victim_slot: "DOWN", new_slot: "UP"},
                    max(detection_timeout, svc.registration_timeout_s),
                    since=kill_at,
                )
            )
            time.sleep(settle)
        self.haproxy.deregister(victim_slot)
        svc.running.pop(victim_slot).cleanup()
        return FailoverReport(
            service=svc.name,
            killed=victim_slot,
            detection_s=times[victim_slot],
            detection_bound_s=svc.timing.detection_bound_s,
            replacement_healthy_s=times[new_slot],
            loads=loads,
            kill_at=kill_at,
            down_at=kill_at + times[victim_slot],
            replacement=new_slot,
            survivors=survivors,
            container=isinstance(victim, ContainerTask),
        )

    def restart(self, service: str | None = None, *, load_rate: float = 100.0) -> RestartReport:
        """A rolling deploy of one service, one task at a time, as ECS does with minimum
        healthy 100 %: start new -> wait healthy -> deregister old (drain for the delay) ->
        SIGTERM -> exit. Every service is under load meanwhile."""
        svc = self.service(service)
        steps: list[RestartStep] = []
        t = svc.timing
        per_step = svc.registration_timeout_s + self._retire_bound_s(svc)
        with self._loads(per_step * len(svc.running) + 10, load_rate) as loads:
            time.sleep(t.interval_s)  # steady state first
            for old_slot in list(svc.running):
                started = time.monotonic()
                new_slot = self.launch(svc)
                ((_, healthy),) = self._await(
                    {new_slot: "UP"}, svc.registration_timeout_s, since=started
                )
                self.progress(f"{new_slot}: healthy after {healthy:.2f} s")

                r = self._retire(svc, old_slot)
                steps.append(
                    RestartStep(old_slot, new_slot, healthy, r.drain_s, r.exit_code, r.stop_s)
                )
            time.sleep(t.interval_s)  # the last new task serves alone for a while
        return RestartReport(service=svc.name, steps=steps, loads=loads)

    def _retire_bound_s(self, svc: ServiceTasks) -> float:
        return svc.timing.deregistration_delay_s + 0.5 + svc.template.task.stop_timeout_s

    def _retire(self, svc: ServiceTasks, slot: str) -> Retired:
        """Deregister a task (drain for the deregistration delay), then SIGTERM it."""
        drain_start = time.monotonic()
        self.haproxy.drain(slot)
        time.sleep(svc.timing.deregistration_delay_s)
        # The ALB cuts what is left after the delay; anything still open is lost there.
        self.haproxy.wait_idle(slot, timeout=0.5)
        self.haproxy.deregister(slot)
        drain = time.monotonic() - drain_start

        task = svc.running.pop(slot)
        stop_start = time.monotonic()
        code = task.terminate(timeout=svc.template.task.stop_timeout_s)
        stop = time.monotonic() - stop_start
        task.cleanup()  # SIGKILL if it outlived the stop timeout, as ECS would
        self.progress(f"{slot}: drained {drain:.2f} s, exited {code}")
        return Retired(slot, drain, code, stop)

    def canary(
        self,
        service: str | None = None,
        *,
        new_env: dict[str, str] | None = None,
        load_rate: float = 100.0,
    ) -> CanaryReport:
        """A canary deploy of one service under load on every service, as ECS's CANARY
        strategy does it: start the new version's tasks beside the old (weight 0), give them
        `canary_percent` of the requests with server weights, bake `canary_bake_minutes`
        watching the rollback alarm's 5xx-rate rule over the new tasks' responses, then
        shift everything to the new version and retire the old, or roll back (new weight 0)
        and retire the new."""
        svc = self.service(service)
        if self.load_url(svc.name) is None:
            raise LocalError(
                f"{svc.name}: its route needs a Host header the load cannot send,"
                " so nothing would judge the canary"
            )
        deployment = self.config.services[svc.name].deployment
        rule = RateRule.of(self.config, svc.name, self.scale)
        bake_s = deployment.canary_bake_minutes * 60 * self.scale
        w_old, w_new = canary_weights(deployment.canary_percent)
        old = list(svc.running)
        t = svc.timing
        budget = (
            svc.registration_timeout_s + bake_s + self._retire_bound_s(svc) + 2 * t.interval_s
        ) + 10
        with self._loads(budget, load_rate) as loads:
            time.sleep(t.interval_s)  # steady state first
            started = time.monotonic()
            new = [self.launch(svc, extra_env=new_env, weight=0) for _ in old]
            for slot, seconds in self._await(
                dict.fromkeys(new, "UP"), svc.registration_timeout_s, since=started
            ):
                self.progress(f"{slot}: healthy after {seconds:.2f} s (weight 0)")
            healthy = time.monotonic() - started
            self.haproxy.set_weights({**dict.fromkeys(old, w_old), **dict.fromkeys(new, w_new)})
            shifted = time.monotonic()
            share = 100 * w_new / (w_old + w_new)
            self.progress(f"canary: {share:g} % to {', '.join(new)} for {bake_s:g} s")
            periods: list[Period] = []
            seen = self.haproxy.responses(new)
            rolled_back = False
            for k in range(1, int(bake_s / rule.period_s + 1e-9) + 1):
                time.sleep(max(0.0, shifted + k * rule.period_s - time.monotonic()))
                now = self.haproxy.responses(new)
                answered, errors = now[0] - seen[0], now[1] - seen[1]
                seen = now
                periods.append(Period(answered, errors, rule.rate(errors, answered)))
                self.progress(
                    f"period {k}: new answered {answered}, 5xx {errors},"
                    f" datapoint {periods[-1].rate:.1f} %"
                )
                if rule.breaching([p.rate for p in periods]):
                    rolled_back = True
                    break
            time.sleep(max(0.0, shifted + bake_s - time.monotonic()) if not rolled_back else 0)
            decided = time.monotonic() - shifted
            if rolled_back:
                self.haproxy.set_weights({**dict.fromkeys(new, 0), **dict.fromkeys(old, 1)})
                self.progress("rolling back: the new tasks get weight 0")
                retired = [self._retire(svc, slot) for slot in new]
            else:
                self.haproxy.set_weights({**dict.fromkeys(old, 0), **dict.fromkeys(new, 1)})
                self.progress("promoting: the old tasks get weight 0")
                retired = [self._retire(svc, slot) for slot in old]
            time.sleep(t.interval_s)  # the survivors serve alone for a while
        return CanaryReport(
            service=svc.name,
            rule=rule,
            old=old,
            new=new,
            weights=(w_old, w_new),
            healthy_s=healthy,
            bake_s=bake_s,
            periods=periods,
            rolled_back=rolled_back,
            decided_s=decided,
            retired=retired,
            loads=loads.reports,
        )
