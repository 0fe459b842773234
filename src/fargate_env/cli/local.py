"""`fargate-env local up|failover|restart|deploy`: thin commands over fargate_env.local.rehearsal.

Each synthesizes the environment into a temporary directory (or reads `--assembly`) and
rehearses what the templates hold."""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from fargate_env.cli.options import EnvFileOption, EnvOption, load_env, user_errors
from fargate_env.config import EnvironmentConfig
from fargate_env.local.canary import CanaryReport
from fargate_env.local.haproxy import CheckTiming, haproxy_binary
from fargate_env.local.instances import LocalError
from fargate_env.local.jobs import JobRun, run_job
from fargate_env.local.rehearsal import (
    FailoverReport,
    LoadSet,
    Rehearsal,
    RestartReport,
    choose_runtime,
    web_service,
)
from fargate_env.local.signals import Stopped, stop_on_signals
from fargate_env.local.templates import Deployed, TaskTemplate, read_deployed, synthesized
from fargate_env.render import say

local_app = typer.Typer(
    help="Rehearse locally: each service's tasks behind one HAProxy.\n\n"
    "HAProxy routes like the ALB, with each service's own health check.\n"
    "--runtime auto runs containers when a Docker engine answers and the image\n"
    "exists, processes otherwise; docker: containers or fail; process: processes.",
    no_args_is_help=True,
)

TasksOpt = Annotated[
    int, typer.Option("--tasks", min=1, max=8, metavar="N", help="Tasks per service.")
]
ScaleOpt = Annotated[
    float,
    typer.Option(
        "--time-scale",
        min=0.01,
        max=1.0,
        metavar="X",
        help="Health-check durations times X.",
    ),
]
RateOpt = Annotated[
    float,
    typer.Option("--rate", min=1, max=2000, metavar="R", help="Requests/s on each service."),
]
ServiceOpt = Annotated[
    str | None,
    typer.Option("--service", "-s", help="Service (needed if several)."),
]
RuntimeOpt = Annotated[
    str,
    typer.Option(
        "--runtime",
        help="auto, docker or process.",
    ),
]
AssemblyOpt = Annotated[
    Path | None,
    typer.Option(
        "--assembly",
        help="Rehearse this cloud assembly.",
    ),
]
RUNTIMES = ("auto", "docker", "process")
STRATEGIES = ("canary",)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _progress(line: str) -> None:
    say(line, indent="  ")


def _rehearsal(
    config: EnvironmentConfig,
    tasks: int,
    scale: float,
    runtime: str,
    assembly: Path | None,
) -> Rehearsal:
    """Read what would deploy, print it, pick the runtime (and say which); nothing runs
    until the rehearsal is entered."""
    _check_runtime(runtime)
    haproxy_binary()  # a missing tool ends in one line before seconds of synth
    deployed = _deployed(config, assembly)
    _header(deployed, tasks, scale)
    r = Rehearsal(
        config,
        tasks=tasks,
        scale=scale,
        progress=_progress,
        deployed=deployed,
        runtime=runtime,  # type: ignore[arg-type]
    )
    say(r.runtime_note)
    return r


def _check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise LocalError(f"--runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")


def _deployed(config: EnvironmentConfig, assembly: Path | None) -> Deployed:
    """What would deploy: `--assembly`'s templates, or the environment synthesized now."""
    if assembly is not None:
        if not (assembly / "manifest.json").is_file():
            raise LocalError(f"--assembly {assembly}: not a cloud assembly (no manifest.json)")
        say(f"read the templates of {assembly}")
        return read_deployed(assembly)
    say("synthesizing the environment; rehearsing what its templates hold")
    return synthesized(config)


def describe_task(task: TaskTemplate, scale: float) -> str:
    """One line of what the task definition asks of the container."""
    parts = [
        f"{task.image} (image: {task.image_source})",
        *([f"command {' '.join(task.command)}"] if task.command else []),
        f"{task.cpu_units / 1024:g} vCPU / {task.memory_mib} MiB",
    ]
    if task.user:
        parts.append(f"user {task.user}")
    if task.read_only:
        parts.append("read-only root")
    parts.extend(f"tmpfs {p}" for p in task.tmpfs)
    if task.init:
        parts.append("init")
    if task.cap_drop:
        parts.append(f"cap-drop {' '.join(task.cap_drop)}")
    parts.append(f"stop timeout {task.stop_timeout_s} s")
    if task.check:
        c = task.check
        parts.append(
            f"container check every {c.interval_s * scale:g} s, retries {c.retries},"
            f" start period {c.start_period_s * scale:g} s"
        )
    parts.append(f"{len(task.environment)} variables, {len(task.secrets)} secrets (dummy values)")
    return ", ".join(parts)


def _header(deployed: Deployed, tasks: int, scale: float) -> None:
    """What is about to run, printed before anything starts."""
    running = [s for s in deployed.services.values() if s.long_running]
    say(f"{len(running)} service(s), {tasks} task(s) each, behind one HAProxy")
    for svc in deployed.services.values():
        name = svc.name
        if svc.kind == "job":
            say(f"{name}: a job; not started here (fargate-env local run-job {name})")
            continue
        if svc.health_check is not None:
            t = CheckTiming.from_config(svc.health_check, scale)
            say(
                f"{name}: health check GET {t.path} every {t.interval_s:g} s,"
                f" timeout {t.timeout_s:g} s, rise {t.rise}, fall {t.fall},"
                f" deregistration delay {t.deregistration_delay_s:g} s"
            )
        elif svc.alias is not None:
            say(
                f"{name}: a backend, reached as http://{svc.alias[0]}:{svc.alias[1]}"
                " (Service Connect); healthy by its container check"
            )
        else:
            say(f"{name}: a worker, no port; healthy by its container check")
        say(f"{name}: task {describe_task(svc.task, scale)}")
    for route in deployed.routes:
        if route.catch_all:
            continue
        what = " and ".join(
            part
            for part in (
                f"host {' | '.join(route.hosts)}" if route.hosts else "",
                f"path {' | '.join(route.paths)}" if route.paths else "",
            )
            if part
        )
        say(f"route {route.priority}: {what} -> {route.service}")
    status = deployed.no_match[0]
    say(f"anything else -> {deployed.default_service or f'{status} (no default service)'}")


@contextlib.contextmanager
def _stoppable(what: str = "every task and HAProxy") -> Iterator[None]:
    """SIGTERM or SIGHUP ends a one-shot rehearsal (failover, restart, deploy, run-job) as
    Ctrl-C does: the context managers inside stop `what` and remove the work directory;
    exit 128 + the signal's number, as a shell reports a death by it."""
    try:
        with stop_on_signals():
            yield
    except Stopped as stopped:
        say(f"{stopped}: stopped {what} before the report")
        raise typer.Exit(128 + stopped.signum) from None


def _ready(r: Rehearsal) -> None:
    caps = {r.cap_description(name) for name in r.services}
    say(f"ready at {r.url}; tasks {', '.join(sorted(caps))}")


def print_loads(loads: LoadSet, since: float | None = None) -> None:
    for name, report in loads.reports.items():
        failed = report.failed()
        span = ""
        if failed:
            kinds = Counter(str(s.status) if s.status else "no response" for s in failed)
            span = " (" + ", ".join(f"{k} x{n}" for k, n in kinds.most_common()) + ")"
        if failed and since is not None:
            first, last = failed[0].t - since, failed[-1].t - since
            span += f", sent {first:+.2f} s to {last:+.2f} s from the kill"
        p99 = f", p99 {report.percentile_ms(99):.1f} ms" if len(failed) < report.requests else ""
        say(
            f"{name} (GET {loads.urls[name]}): requests {report.requests},"
            f" failed {len(failed)}{span}{p99}"
        )
    for name, why in loads.skipped.items():
        say(f"{name}: no load ({why})")


def print_failover(report: FailoverReport) -> None:
    say(
        f"killed {report.killed} (SIGKILL{', docker kill' if report.container else ''})\n"
        f"marked DOWN after {report.detection_s:.2f} s"
        f" (bound: interval x unhealthy threshold + 1 interval = {report.detection_bound_s:g} s)\n"
        f"replacement {report.replacement} healthy after {report.replacement_healthy_s:.2f} s"
        " (both from the kill)"
    )
    print_loads(report.loads, since=report.kill_at)


def print_restart(report: RestartReport) -> None:
    for step in report.steps:
        say(
            f"{step.old} -> {step.new}: new healthy in {step.healthy_s:.2f} s, drained"
            f" {step.drain_s:.2f} s, old exited {step.exit_code} in {step.stop_s:.2f} s"
        )
    print_loads(report.loads)


@local_app.command()
@user_errors
def up(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    tasks: TasksOpt = 2,
    time_scale: ScaleOpt = 1.0,
    duration: Annotated[
        float,
        typer.Option("--duration", min=0, metavar="S", help="Seconds to stay up; 0: until Ctrl-C."),
    ] = 0,
    runtime: RuntimeOpt = "auto",
    assembly: AssemblyOpt = None,
) -> None:
    """Start every service's tasks and HAProxy; keep them up.

    Ctrl-C, SIGTERM or SIGHUP stops them all and removes the work
    directory (exit 0), as does the end of --duration."""
    config = load_env(env, env_file)
    try:
        with stop_on_signals(), _rehearsal(config, tasks, time_scale, runtime, assembly) as r:
            _ready(r)
            say("Ctrl-C stops everything." if not duration else f"up for {duration:g} s")
            deadline = time.monotonic() + duration if duration else float("inf")
            while time.monotonic() < deadline:
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
                for line in r.changes():  # a task going DOWN or exiting shows at once
                    _progress(line)
    except KeyboardInterrupt:
        # The context manager has already stopped every process it started.
        say("interrupted: stopped every task and HAProxy")
        return
    except Stopped as stopped:
        say(f"{stopped}: stopped every task and HAProxy")
        return
    say("stopped every task and HAProxy")


@local_app.command()
@user_errors
def failover(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOpt = None,
    tasks: TasksOpt = 2,
    time_scale: ScaleOpt = 1.0,
    rate: RateOpt = 100,
    runtime: RuntimeOpt = "auto",
    assembly: AssemblyOpt = None,
) -> None:
    """Kill one task under load; time detection and its replacement.

    A process gets SIGKILL, a container `docker kill`. SIGTERM or SIGHUP
    stops everything, as Ctrl-C does, and exits 128 + the signal."""
    config = load_env(env, env_file)
    name = web_service(config, service)  # before anything starts
    with _stoppable(), _rehearsal(config, tasks, time_scale, runtime, assembly) as r:
        _ready(r)
        print_failover(r.failover(name, load_rate=rate))


@local_app.command()
@user_errors
def restart(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOpt = None,
    tasks: TasksOpt = 2,
    time_scale: ScaleOpt = 1.0,
    rate: RateOpt = 100,
    runtime: RuntimeOpt = "auto",
    assembly: AssemblyOpt = None,
) -> None:
    """Rolling restart of one service under load, the way ECS deploys.

    Every service is under load; exit 1 if any request failed. SIGTERM or
    SIGHUP stops everything, as Ctrl-C does, and exits 128 + the signal."""
    config = load_env(env, env_file)
    name = web_service(config, service)  # before anything starts
    with _stoppable(), _rehearsal(config, tasks, time_scale, runtime, assembly) as r:
        _ready(r)
        report = r.restart(name, load_rate=rate)
        print_restart(report)
        if report.loads.failed():
            raise typer.Exit(1)


def parse_new_env(pairs: list[str]) -> dict[str, str]:
    """`--new-env KEY=VALUE` (repeatable) -> the new version's extra variables."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.match(key):
            raise LocalError(f"--new-env {pair!r}: expected KEY=VALUE (KEY a variable name)")
        env[key] = value
    return env


def print_canary(report: CanaryReport) -> None:
    old_w, new_w = report.weights
    new, old = report.served(report.new), report.served(report.old)
    errors = report.new_5xx()
    rate = f"{100 * errors / new:.1f} %" if new else "-"
    say(
        f"canary share {report.share_percent:g} % (weights {old_w} old / {new_w} new"
        f" per task)\n"
        f"rule: {report.rule.describe()}\n"
        f"new tasks healthy after {report.healthy_s:.2f} s; bake {report.bake_s:g} s\n"
        f"verdict: {report.verdict} after {report.decided_s:.2f} s of canary traffic\n"
        f"requests: old version {old}, new version {new} (5xx {errors}, {rate})\n"
        f"failed requests not answered by a new task: {report.failed_outside_canary()}"
    )
    for r in report.retired:
        say(
            f"retired {r.slot}: drained {r.drain_s:.2f} s, exited {r.exit_code} in {r.stop_s:.2f} s"
        )
    for name, load in report.loads.items():
        if name != report.service:
            say(f"{name}: requests {load.requests}, failed {len(load.failed())}")


@local_app.command()
@user_errors
def deploy(
    strategy: Annotated[str, typer.Option("--strategy", help="canary (the one rehearsed).")],
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOpt = None,
    new_env: Annotated[
        list[str] | None,
        typer.Option(
            "--new-env",
            help="KEY=VALUE for the new version.",
        ),
    ] = None,
    tasks: TasksOpt = 2,
    time_scale: ScaleOpt = 1.0,
    rate: RateOpt = 100,
    runtime: RuntimeOpt = "auto",
    assembly: AssemblyOpt = None,
) -> None:
    """Canary deploy of one service under load; promote or roll back.

    The new version gets canary_percent of the requests (server weights) for
    canary_bake_minutes, judged by the rollback alarm's 5xx-rate rule.
    --new-env FAULT_STATUS=500: a bad release that still passes health checks.
    Exit 1 on a rollback or on a failed request outside the canary."""
    if strategy not in STRATEGIES:
        raise LocalError(f"--strategy {strategy!r}: the rehearsal deploys with canary only")
    extra = parse_new_env(new_env or [])
    config = load_env(env, env_file)
    name = web_service(config, service)  # before anything starts
    with _stoppable(), _rehearsal(config, tasks, time_scale, runtime, assembly) as r:
        _ready(r)
        report = r.canary(name, new_env=extra, load_rate=rate)
        print_canary(report)
        others = sum(len(load.failed()) for n, load in report.loads.items() if n != report.service)
        if report.rolled_back or report.failed_outside_canary() or others:
            raise typer.Exit(1)


def _job_name(config: EnvironmentConfig, name: str) -> str:
    """NAME must be a kind = "job" service of the environment (one line, exit 2)."""
    jobs = [n for n, s in config.services.items() if s.kind == "job"]
    listed = ", ".join(jobs) or "none"
    if name not in config.services:
        raise LocalError(f"no service {name!r} in {config.name}; its jobs: {listed}")
    kind = config.services[name].kind
    if kind != "job":
        raise LocalError(f'{name} is a {kind}; run-job runs a kind = "job" (jobs: {listed})')
    return name


def print_job_run(run: JobRun) -> None:
    for line in run.output:
        say(line, indent="  | ")
    head = f"{run.name} ({run.what})"
    if run.exit_code is None:
        say(f"{head}: failed: still running after the {run.timeout_s:g}-s timeout; stopped")
    elif run.succeeded:
        say(f"{head}: exit code 0 after {run.duration_s:.2f} s")
    else:
        say(f"{head}: failed: exit code {run.exit_code} after {run.duration_s:.2f} s")


@local_app.command("run-job")
@user_errors
def run_job_command(
    name: Annotated[str, typer.Argument(help='The job (a kind = "job" service).')],
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    time_scale: ScaleOpt = 1.0,
    runtime: RuntimeOpt = "auto",
    assembly: AssemblyOpt = None,
) -> None:
    """Run a scheduled job once now, from its task definition; wait.

    Prints its output and exit code; exit 0 when the run exits 0, 1 when
    it fails or outlives its timeout (the template's, x --time-scale).
    SIGTERM or SIGHUP stops the run and exits 128 + the signal."""
    config = load_env(env, env_file)
    _job_name(config, name)
    _check_runtime(runtime)
    deployed = _deployed(config, assembly)
    template = deployed.services.get(name)
    if template is None or template.kind != "job":
        what = "no such stack" if template is None else f"a {template.kind}"
        raise LocalError(f"{deployed.source}: {name} is {what} there; synthesize again")
    chosen, note = choose_runtime(deployed, runtime)  # type: ignore[arg-type]
    say(note)
    # The run's timeout as the templates give it (the state machine's), scaled.
    timeout = float("inf") if template.timeout_s is None else template.timeout_s * time_scale
    command = " ".join(template.task.command or ("(the image's CMD)",))
    limit = "no timeout" if template.timeout_s is None else f"timeout {timeout:g} s"
    say(f"{name}: one run of {command}, {limit}")
    with (
        _stoppable("the run"),
        tempfile.TemporaryDirectory(prefix="fargate-env-local-") as tmp,
    ):
        run = run_job(template, runtime=chosen, workdir=Path(tmp), timeout_s=timeout, progress=say)
    print_job_run(run)
    if not run.succeeded:
        raise typer.Exit(1)
