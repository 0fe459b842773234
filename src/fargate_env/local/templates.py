"""What would deploy, read back from a synthesized cloud assembly: each
service's container (its task definition), its kind, its target group and its
listener rules, and the listener's own answer when no rule matches.

A service's kind is what its stack holds (the assembly model says which): a
web service's target groups and rules, a backend's Service Connect name and
port, a worker's bare ECS service, a job's schedule and the timeout of a run.

The rehearsal runs these, not the config: a change that reaches the templates
(a construct, a CDK default, a hand edit of cdk.out) reaches the rehearsal.
Where a property is absent, AWS's documented default applies, as it would on a
deploy (ELB: interval 30 s, timeout 5 s, thresholds 5 and 2, path /, matcher
200, deregistration delay 300 s; ECS: stop timeout 30 s, container check
interval 30 s, timeout 5 s, retries 3, start period 0).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fargate_env.assembly import (
    DEFAULT_IDLE_TIMEOUT_S,
    ECS_SERVICE,
    TARGET_GROUP,
    TASK_DEFINITION,
    Environment,
    ListenerRule,
    Stack,
    TargetGroup,
    TaskDefinition,
    read_environment,
)
from fargate_env.config import EnvironmentConfig, HealthCheckConfig, Route
from fargate_env.errors import UserError

# Every service's ECR image runs locally as the sample image (`make image`).
LOCAL_IMAGE = "sample-server:local"
# The listener's answer when the templates hold none (ELB default; the
# platform stack sets it).
DEFAULT_NO_MATCH = (404, "")
CATCH_ALL = ("/*",)


class TemplateError(UserError):
    """The assembly holds something the rehearsal cannot run (one line)."""


@dataclass(frozen=True)
class ContainerCheck:
    """The container's health check (ECS runs it inside the task)."""

    command: tuple[str, ...]
    interval_s: int = 30
    timeout_s: int = 5
    retries: int = 3
    start_period_s: int = 0


@dataclass(frozen=True)
class TaskTemplate:
    """One task: its essential container and the task size."""

    image: str  # what runs locally
    image_source: str  # what the template names
    container_port: int | None  # None: the container maps no port (worker, job)
    environment: dict[str, str]
    secrets: tuple[str, ...]  # variable names; the values live in AWS
    user: str | None
    read_only: bool
    tmpfs: tuple[str, ...]  # mount paths of task-local volumes
    cpu_units: int
    memory_mib: int
    stop_timeout_s: int
    check: ContainerCheck | None
    init: bool
    cap_drop: tuple[str, ...]
    cap_add: tuple[str, ...]
    command: tuple[str, ...] | None = None  # None: the image's CMD


@dataclass(frozen=True)
class ServiceTemplate:
    name: str
    task: TaskTemplate
    # The target group's check, in the config's own type (unvalidated: the
    # template's numbers, whatever they are); None without a target group.
    health_check: HealthCheckConfig | None
    routes: list[Route] = field(default_factory=list)
    kind: str = "web"
    # A backend's Service Connect name and port: other tasks reach http://NAME:PORT.
    alias: tuple[str, int] | None = None
    # A job's run is stopped and failed after this (None: never).
    timeout_s: float | None = None

    @property
    def long_running(self) -> bool:
        """An ECS service keeps its tasks running (a job's run ends)."""
        return self.kind != "job"


@dataclass(frozen=True)
class Deployed:
    """Every service of an assembly plus the listener they share."""

    services: dict[str, ServiceTemplate]
    routes: list[Route]  # every listener rule, lowest priority first
    no_match: tuple[int, str]  # the listener's fixed response
    idle_timeout_s: int
    source: Path

    @property
    def default_service(self) -> str | None:
        """The service whose rule takes every path (priority last)."""
        for route in self.routes:
            if route.catch_all:
                return route.service
        return None

    def endpoint(self, service: str) -> tuple[str | None, str]:
        """(host, path) where a service answers: its first literal host and
        path prefix; (None, "") for a catch-all rule alone."""
        for route in self.routes:
            if route.service != service or route.catch_all:
                continue
            hosts = [h for h in route.hosts if "*" not in h and "?" not in h]
            paths = [p.split("*")[0].split("?")[0].rstrip("/") for p in route.paths]
            return (hosts[0] if hosts else None), (paths[0] if paths else "")
        return None, ""


def synthesize(config: EnvironmentConfig, workdir: Path) -> Path:
    """Synthesize `config` into `workdir`/cdk.out (CDK validation off: the
    rehearsal needs the templates, `check` runs the gates)."""
    from fargate_env.synth import synthesize as synth  # loads aws_cdk

    outdir = Path(workdir) / "cdk.out"
    synth(config, outdir, validation=False)
    return outdir


def synthesized(config: EnvironmentConfig) -> Deployed:
    """Synthesize into a temporary directory and read it back."""
    with tempfile.TemporaryDirectory(prefix="fargate-env-local-synth-") as tmp:
        return read_deployed(synthesize(config, Path(tmp)))


def read_deployed(outdir: Path) -> Deployed:
    """Every service stack's container, target group and rules."""
    env = read_environment(Path(outdir))
    services: dict[str, ServiceTemplate] = {}
    routes: list[Route] = []
    for stack in env.service_stacks():
        service = _service(env, stack)
        services[service.name] = service
        routes.extend(service.routes)
    if not services:
        raise TemplateError(f"{outdir}: no service stack in the cloud assembly")
    routes.sort(key=lambda r: r.priority)
    no_match, idle = _listener(env)
    return Deployed(services, routes, no_match, idle, Path(outdir))


def _one(stack: Stack, rtype: str) -> None:
    found = stack.of_type(rtype)
    if len(found) != 1:
        raise TemplateError(f"{stack.name}: expected one {rtype}, found {len(found)}")


def _service(env: Environment, stack: Stack) -> ServiceTemplate:
    """A rolling service has one target group; a traffic-shifting one (blue-green, canary,
    linear) also an alternate group with the same check, its production rule forwards to
    both by weight, and a test rule matches a header. The rehearsal keeps one backend per
    service (a deploy shares it by server weights) and leaves the test rule out."""
    name = stack.service or ""
    _one(stack, TASK_DEFINITION)
    service = env.service(stack)
    (task_definition,) = stack.of_type(TASK_DEFINITION).values()
    groups = stack.of_type(TARGET_GROUP)
    job = env.job(stack)
    kind = "job" if job is not None else service.kind if service is not None else None
    if kind is None:
        raise TemplateError(f"{stack.name}: neither an ECS service nor a scheduled job")
    task = _task(stack, TaskDefinition(task_definition), listens=kind in ("web", "backend"))
    if kind != "web":
        alias = service.connect_alias if service is not None else None
        if kind == "backend" and (alias is None or not alias[0] or not alias[1]):
            raise TemplateError(f"{stack.name}: a Service Connect service without a client alias")
        minutes = job.timeout_minutes if job is not None else None
        return ServiceTemplate(
            name,
            task,
            None,
            [],
            kind=kind,
            alias=alias,  # type: ignore[arg-type]
            timeout_s=None if minutes is None else minutes * 60.0,
        )
    primary, test_rule = next(iter(groups), None), None
    if len(groups) > 1:
        _one(stack, ECS_SERVICE)
        assert service is not None
        primary, test_rule = service.primary_target_group, service.test_rule
        if primary not in groups or set(groups) != {primary, service.alternate_target_group}:
            raise TemplateError(
                f"{stack.name}: {len(groups)} target groups, not a service's primary and"
                " alternate one"
            )
    if primary is None:
        raise TemplateError(f"{stack.name}: expected one {TARGET_GROUP}, found 0")
    check = TargetGroup(groups[primary]).health_check
    routes = [
        _route(stack, name, set(groups), rule)
        for rule in env.rules(stack)
        if rule.logical_id != test_rule
    ]
    return ServiceTemplate(name, task, check, routes)


def _image(image: object) -> tuple[str, str]:
    """(local image, what the template names): an ECR image is the sample
    image here; a literal image name runs as itself."""
    if isinstance(image, str) and ".dkr.ecr." not in image:
        return image, image
    return LOCAL_IMAGE, "the service's ECR repository"


def _task(stack: Stack, td: TaskDefinition, *, listens: bool) -> TaskTemplate:
    essential = td.essential
    if len(essential) != 1:
        raise TemplateError(
            f"{stack.name}: the rehearsal runs one essential container per"
            f" task, the task definition has {len(essential)}"
        )
    (c,) = essential
    if listens and not c.ports:
        raise TemplateError(f"{stack.name}: the container maps no port")
    volumes = td.volumes
    tmpfs = []
    for mount in c.get("MountPoints", ()):
        volume = volumes.get(mount.get("SourceVolume"), {})
        if set(volume) - {"Name"}:  # host path, EFS, Docker volume ...
            raise TemplateError(
                f"{stack.name}: volume {volume['Name']} is not task-local"
                " storage; the rehearsal only has task-local volumes"
            )
        tmpfs.append(mount["ContainerPath"])
    caps = c.linux.get("Capabilities", {})
    hc = c.health_check
    image, source = _image(c.image)
    return TaskTemplate(
        image=image,
        image_source=source,
        container_port=c.ports[0] if c.ports else None,
        environment=c.environment,
        secrets=c.secrets,
        user=c.get("User"),
        read_only=bool(c.get("ReadonlyRootFilesystem", False)),
        tmpfs=tuple(tmpfs),
        # A container-level size, when given, is what Docker would cap.
        cpu_units=int(c.get("Cpu") or td.resource.get("Cpu", 256)),
        memory_mib=int(c.get("Memory") or td.resource.get("Memory", 512)),
        stop_timeout_s=int(c.get("StopTimeout", 30)),
        check=None
        if hc is None
        else ContainerCheck(
            command=tuple(hc["Command"]),
            interval_s=int(hc.get("Interval", 30)),
            timeout_s=int(hc.get("Timeout", 5)),
            retries=int(hc.get("Retries", 3)),
            start_period_s=int(hc.get("StartPeriod", 0)),
        ),
        init=bool(c.linux.get("InitProcessEnabled", False)),
        cap_drop=tuple(caps.get("Drop", ())),
        cap_add=tuple(caps.get("Add", ())),
        command=c.command,
    )


def _route(stack: Stack, service: str, groups: set[str], rule: ListenerRule) -> Route:
    targets = rule.forwards_to
    if rule.action_types != ["forward"] or not targets or targets - groups:
        raise TemplateError(
            f"{stack.name}: a listener rule does something other than forward"
            " to the service's own target group"
        )
    hosts: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    for condition in rule.conditions:
        kind = condition.get("Field")
        config = condition.get("HostHeaderConfig") or condition.get("PathPatternConfig") or {}
        values = tuple(config.get("Values") or condition.get("Values") or ())
        if kind == "host-header":
            hosts = values
        elif kind == "path-pattern":
            paths = values
        else:
            raise TemplateError(
                f"{stack.name}: the rehearsal routes on host and path only, not {kind}"
            )
    catch_all = not hosts and paths == CATCH_ALL
    return Route(service, rule.priority, hosts, paths, catch_all=catch_all)


def _listener(env: Environment) -> tuple[tuple[int, str], int]:
    """The fixed response of the listener the services' rules attach to (any shared
    listener that has one, when no rule names it), and the idle timeout of its load
    balancer."""
    attached = [
        rule.listener
        for stack in env.service_stacks()
        for rule in env.rules(stack)
        if rule.listener is not None
    ]
    shared = [x for x in env.listeners() if env.stack(x.resource.stack).service is None]
    for listener in attached or shared:
        if listener.fixed_response is None:
            continue
        lb = listener.load_balancer
        return listener.fixed_response, lb.idle_timeout_s if lb else DEFAULT_IDLE_TIMEOUT_S
    return DEFAULT_NO_MATCH, DEFAULT_IDLE_TIMEOUT_S
