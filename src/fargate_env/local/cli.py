"""`fargate-env local up|failover|restart`: thin commands over fargate_env.local.rehearsal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from fargate_env.cli_support import EnvFileOption, EnvOption, load_env, user_errors
from fargate_env.local.rehearsal import FailoverReport, Rehearsal, RestartReport

local_app = typer.Typer(
    help="Rehearse locally: the sample service x N behind HAProxy with the env's health check.",
    no_args_is_help=True,
)

TasksOpt = Annotated[int, typer.Option("--tasks", min=1, max=8, help="Service instances.")]
ScaleOpt = Annotated[
    float,
    typer.Option(
        "--time-scale",
        min=0.01,
        max=1.0,
        help="Multiply every health-check duration (e.g. 0.1 for a quick run); counts stay.",
    ),
]
RateOpt = Annotated[float, typer.Option("--rate", min=1, max=5000, help="Load, requests/s.")]


def _rehearsal(env: str | None, env_file: Path | None, tasks: int, scale: float) -> Rehearsal:
    return Rehearsal(load_env(env, env_file), tasks=tasks, scale=scale)


def _header(r: Rehearsal) -> None:
    t = r.timing
    typer.echo(
        f"{r.tasks} task(s) behind HAProxy at {r.url}; {r.cap_description}\n"
        f"health check: GET {t.path} every {t.interval_s:g} s, timeout {t.timeout_s:g} s,"
        f" rise {t.rise}, fall {t.fall}, deregistration delay {t.deregistration_delay_s:g} s"
    )


def print_failover(report: FailoverReport) -> None:
    load = report.load
    typer.echo(
        f"killed {report.killed} (SIGKILL)\n"
        f"marked DOWN after {report.detection_s:.2f} s"
        f" (bound: interval x unhealthy threshold + 1 interval = {report.detection_bound_s:g} s)\n"
        f"replacement healthy after {report.replacement_healthy_s:.2f} s"
    )
    if load is not None:
        failed = load.failed()
        span = ""
        if failed:
            first, last = failed[0].t - report.kill_at, failed[-1].t - report.kill_at
            span = f", sent {first:+.2f} s to {last:+.2f} s from the kill"
        typer.echo(f"requests: {load.requests}, failed: {len(failed)}{span}")


def print_restart(report: RestartReport) -> None:
    for step in report.steps:
        typer.echo(
            f"{step.old} -> {step.new}: new healthy in {step.healthy_s:.2f} s, drained"
            f" {step.drain_s:.2f} s, old exited {step.exit_code} in {step.stop_s:.2f} s"
        )
    if report.load is not None:
        typer.echo(
            f"requests: {report.load.requests}, failed: {len(report.load.failed())},"
            f" p99 {report.load.percentile_ms(99):.1f} ms"
        )


@local_app.command()
@user_errors
def up(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    tasks: TasksOpt = 2,
    time_scale: ScaleOpt = 1.0,
    duration: Annotated[
        float, typer.Option("--duration", min=0, help="Seconds to stay up; 0: until Ctrl-C.")
    ] = 0,
) -> None:
    """Start the tasks and HAProxy, and keep them up."""
    with _rehearsal(env, env_file, tasks, time_scale) as r:
        _header(r)
        typer.echo("Ctrl-C stops everything." if not duration else f"up for {duration:g} s")
        deadline = time.monotonic() + duration if duration else float("inf")
        while time.monotonic() < deadline:
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


@local_app.command()
@user_errors
def failover(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    tasks: TasksOpt = 2,
    time_scale: ScaleOpt = 1.0,
    rate: RateOpt = 200,
) -> None:
    """SIGKILL one task under load; time detection and the replacement."""
    with _rehearsal(env, env_file, tasks, time_scale) as r:
        _header(r)
        print_failover(r.failover(load_rate=rate))


@local_app.command()
@user_errors
def restart(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    tasks: TasksOpt = 2,
    time_scale: ScaleOpt = 1.0,
    rate: RateOpt = 200,
) -> None:
    """Rolling restart under load, the way ECS and the ALB deploy."""
    with _rehearsal(env, env_file, tasks, time_scale) as r:
        _header(r)
        report = r.restart(load_rate=rate)
        print_restart(report)
        if report.load is not None and report.load.failed():
            raise typer.Exit(1)
