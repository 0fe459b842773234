"""Commands on a deployed environment: push, deploy, verify, status, load, failover, scale-test,
rightsize, run-job. Each is a few lines over fargate_env.ops; none loads the CDK unless it
synthesizes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fargate_env.cli.options import (
    EnvFileOption,
    EnvOption,
    EveryServiceOption,
    OutOption,
    ServiceOption,
    console,
    environment_aws,
    load_env,
    user_errors,
)
from fargate_env.errors import UserError


@user_errors
def push(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOption = None,
    tag: Annotated[
        str | None,
        typer.Option("--tag", help="Image tag (default: the context's git commit)."),
    ] = None,
):
    """Build a service's image and push it to its ECR repository.

    From its image.build context (the sample server when it has no image
    table), for the service's architecture (x86_64 or arm64)."""
    from fargate_env.config import resolve_env_path
    from fargate_env.ops.images import push_image

    aws = environment_aws(env, env_file, service)
    base = resolve_env_path(env, env_file).parent
    image = push_image(aws, service, tag=tag, base=base, progress=console.print)
    console.print(f"pushed {image}")


@user_errors
def deploy(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: Annotated[
        str | None,
        typer.Option("--service", "-s", help="Deploy only this service (and what it needs)."),
    ] = None,
    image_tag: Annotated[
        str | None, typer.Option("--image-tag", help="Image tag of the service to run.")
    ] = None,
    only: Annotated[
        str | None, typer.Option("--only", help="One shared stack part, e.g. registry.")
    ] = None,
    out: OutOption = Path("cdk.out"),
    prune: Annotated[
        bool, typer.Option("--prune", help="First delete stacks of removed services.")
    ] = False,
):
    """Check images, synthesize, print the plan, run `cdk deploy`.

    Every stack, or one service's with --service; deployed services keep their
    running image tag unless --image-tag; the exit code is cdk's."""
    from fargate_env.ops import render
    from fargate_env.ops.deploy import run_deploy
    from fargate_env.synth import refuse_foreign_directory

    refuse_foreign_directory(out)
    aws = environment_aws(env, env_file, service, every=True)
    rc = run_deploy(
        aws, image_tag=image_tag, outdir=out, only=only, service=service, prune=prune,
        progress=console.print,
        report=lambda plan: render.plan(console, plan, "plan", detail=False),
    )  # fmt: skip
    raise typer.Exit(rc)


@user_errors
def status(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: EveryServiceOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
):
    """Per service: image tags, tasks, last deployment or job run.

    The file's image tag and the running one, running/desired tasks, and the
    last deployment; where a backend is reached; a job's schedule."""
    from fargate_env.config import select_service
    from fargate_env.ops import render
    from fargate_env.ops.status import service_status

    if output_format not in ("table", "json"):
        raise UserError(f"--format {output_format!r}: use 'table' or 'json'")
    aws = environment_aws(env, env_file, service, every=True, quiet=output_format == "json")
    names = [select_service(aws.config, service)[0]] if service else None
    with console.status("reading the services (ECS)"):
        rows = service_status(aws, names)
    if output_format == "json":
        console.print_json(json.dumps([row.to_json() for row in rows]))
    else:
        render.status(console, rows, f"status: {aws.config.name} ({aws.region})")


@user_errors
def verify(
    env: EnvOption = None, env_file: EnvFileOption = None, service: EveryServiceOption = None
):
    """Per service: stable and healthy; a job: schedule, last run.

    web: targets healthy, health path answers 200; backend/worker: tasks'
    health (a backend: its Service Connect name); job: schedule on, last run
    exited 0. Exit 0 when every check passes, 1 otherwise."""
    from fargate_env.ops import render
    from fargate_env.ops.verify import run_verify

    aws = environment_aws(env, env_file, service, every=True, checked=True)
    with console.status("verifying") as status:
        results = run_verify(aws, service, progress=status.update)
    render.checks(console, f"verify: {aws.config.name}", results)
    if not all(check.ok for check in results):
        raise typer.Exit(1)


@user_errors
def load(
    url: Annotated[str, typer.Argument(help="http(s) URL to GET.")],
    duration: Annotated[float, typer.Option("--duration", help="Seconds (bounded).")] = 10.0,
    connections: Annotated[int, typer.Option("--connections", help="Concurrent.")] = 8,
    rate: Annotated[float | None, typer.Option("--rate", help="Total req/s (open loop).")] = None,
    max_error_rate: Annotated[
        float,
        typer.Option("--max-error-rate", help="Allowed failed fraction, 0-1."),
    ] = 0.0,
    ok_status: Annotated[
        str,
        typer.Option(
            "--ok-status",
            help="Success statuses, e.g. 200-399.",
        ),
    ] = "200-299",
    env: EnvOption = None,
    env_file: EnvFileOption = None,
):
    """Bounded load: errors by cause, latency p50/p95/p99.

    Only 2xx answers succeed unless --ok-status says otherwise (e.g. 200-399 to
    count redirects). Exit 1 when the failed share is over --max-error-rate."""
    from fargate_env.config import OpsConfig
    from fargate_env.ops import render
    from fargate_env.ops.load import load as run_load
    from fargate_env.ops.load import parse_ok_status

    ok = parse_ok_status(ok_status)
    ops = load_env(env, env_file).ops if env or env_file else OpsConfig()
    with console.status(Text(f"loading {url} for {duration:g} s")):
        report = run_load(
            url,
            duration_s=duration,
            connections=connections,
            rate=rate,
            ops=ops,
            max_error_rate=max_error_rate,
            ok_status=ok,
        )
    render.load(console, report, max_error_rate)
    if not report.within(max_error_rate):
        raise typer.Exit(1)


@user_errors
def failover(env: EnvOption = None, env_file: EnvFileOption = None, service: ServiceOption = None):
    """Stop one task of a service; time its recovery.

    Recovered: the desired count runs again and its targets are healthy."""
    from fargate_env.ops import render
    from fargate_env.ops.failover import run_failover

    report = run_failover(
        environment_aws(env, env_file, service, checked=True), service, progress=console.print
    )
    render.failover(console, report)
    if not report.ok:
        raise typer.Exit(1)


@user_errors
def scale_test(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOption = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Load seconds.")] = None,
):
    """Drive /cpu load at a service; time its scale-out and scale-in.

    The desired count is left as found."""
    from fargate_env.ops import render
    from fargate_env.ops.scale_test import run_scale_test

    aws = environment_aws(env, env_file, service, checked=True)
    seconds = duration if duration is not None else aws.config.ops.scale_test_load_seconds
    report = run_scale_test(aws, service, load_seconds=seconds, progress=console.print)
    render.scale(console, report)
    if not report.ok:
        raise typer.Exit(1)


@user_errors
def rightsize(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOption = None,
    days: Annotated[int, typer.Option("--days", help="Days of CloudWatch data.")] = 14,
):
    """Recommend a Fargate size from CloudWatch data (read-only).

    The cheapest size that keeps the service's p95 CPU and memory under the
    headroom."""
    from fargate_env.ops import render
    from fargate_env.ops.rightsize import run_rightsize

    aws = environment_aws(env, env_file, service, checked=True)
    with console.status(f"reading {days} days of CloudWatch metrics"):
        rec = run_rightsize(aws, days, service)
    render.rightsize(console, rec, days)


@user_errors
def run_job(
    name: Annotated[str, typer.Argument(help='The job (a kind = "job" service).')],
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    timeout_minutes: Annotated[
        float | None,
        typer.Option("--timeout-minutes", help="Wait at most this (default: its own)."),
    ] = None,
):
    """Run a scheduled job once now; wait for its exit code.

    As its schedule runs it. Exit 0: it exited 0; 1: the run failed."""
    from fargate_env.ops import render
    from fargate_env.ops.run_job import run_job as start_and_wait

    if timeout_minutes is not None and timeout_minutes <= 0:
        raise UserError(f"--timeout-minutes {timeout_minutes:g}: give a positive number")
    aws = environment_aws(env, env_file, name, checked=True)
    run = start_and_wait(aws, name, timeout_minutes=timeout_minutes, progress=console.print)
    render.job_run(console, run)
    if not run.ok:
        raise typer.Exit(1)
