"""The `fargate-env` command line: each command is a few lines that call the modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from fargate_env.cli_support import (
    EnvFileOption,
    EnvOption,
    OutOption,
    console,
    err_console,
    error_line,
    load_env,
    user_errors,
)
from fargate_env.errors import UserError
from fargate_env.local.cli import local_app
from fargate_env.preview_cli import PreviewOption, destroy, offline_previews, preview_app

app = typer.Typer(
    name="fargate-env",
    help="Synthesize, check, price, rehearse and operate a non-production ECS Fargate environment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


# `synth` / `check --preview NAME --service S`: the preview's stack too, offline.
PreviewServiceOption = Annotated[
    str | None, typer.Option("--service", "-s", help="With --preview: the service to copy.")
]


@app.command()
@user_errors
def synth(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: OutOption = Path("cdk.out"),
    preview: PreviewOption = None,
    service: PreviewServiceOption = None,
):
    """Validate the config, synthesize every stack, print a summary."""
    from fargate_env.summary import render_summary
    from fargate_env.synth import refuse_foreign_directory, synthesize

    refuse_foreign_directory(out)
    config = load_env(env, env_file)
    previews = offline_previews(config, preview, service)
    with console.status("synthesizing"):
        stacks = synthesize(config, out, previews=previews)
    render_summary(console, config, stacks, out)


@app.command()
@user_errors
def check(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: OutOption = Path("cdk.out"),
    preview: PreviewOption = None,
    service: PreviewServiceOption = None,
):
    """Config validation + synth with CDK validation + cdk-nag + cfn-lint; exit 1 on findings."""
    from fargate_env.compliance import run_checks
    from fargate_env.synth import refuse_foreign_directory

    refuse_foreign_directory(out)
    config = load_env(env, env_file)
    previews = offline_previews(config, preview, service)
    with console.status("synthesizing with cdk-nag and CDK validation, then cfn-lint"):
        report = run_checks(config, out, previews)
    table = Table(title=f"checks: {config.name}")
    for column in ("gate", "findings", "result"):
        table.add_column(column)
    for gate, findings in report.gates.items():
        table.add_row(gate, str(len(findings)), "[red]fail[/]" if findings else "[green]pass[/]")
    console.print(table)
    for finding in report.findings:
        console.print(Text.assemble(("✗", "red"), " ", finding), highlight=False, soft_wrap=True)
    console.print(f"waivers in force: {report.waiver_count} (src/fargate_env/compliance.py)")
    if report.findings:
        raise typer.Exit(1)


app.add_typer(local_app, name="local")
app.add_typer(preview_app, name="preview")
app.command()(destroy)


# --- cost and diagram ---
FormatOption = Annotated[str, typer.Option("--format", help="table or json.")]
CompareOption = Annotated[bool, typer.Option("--compare", help="Price the profile variants.")]
PictureOption = Annotated[Path, typer.Option("--out", help="Picture to write: .png or .svg.")]


@app.command()
@user_errors
def cost(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    output_format: FormatOption = "table",
    compare: CompareOption = False,
):
    """Monthly bill per resource from the templates; exit 1 over cost.monthly_budget_usd."""
    from fargate_env.cost.run import run_cost

    config = load_env(env, env_file)
    if output_format not in ("table", "json"):
        raise UserError(f"--format {output_format!r}: use 'table' or 'json'")
    as_json = output_format == "json"
    if not run_cost(config, console, err_console, as_json=as_json, compare=compare):
        raise typer.Exit(1)


@app.command()
@user_errors
def diagram(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: PictureOption = Path("docs/architecture.png"),
):
    """Architecture picture (graphviz) drawn from the synthesized templates."""
    from fargate_env.diagram import refuse_foreign_file, write_diagram

    refuse_foreign_file(out)
    config = load_env(env, env_file)
    with console.status("synthesizing and drawing"):
        written = write_diagram(config, out)
    console.print(f"wrote {written}")


# --- operations (src/fargate_env/ops) ---
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="Service name (required when there are several)."),
]
EveryServiceOption = Annotated[
    str | None, typer.Option("--service", "-s", help="One service (default: every service).")
]


def _aws(
    env: str | None, env_file: Path | None, service: str | None = None, *, every: bool = False
) -> Any:
    """The environment's AWS session. Before anything touches AWS: --service must name a
    service (and is required with several unless `every`: None means every service), and demo
    placeholders are refused. A file without an account (and no other placeholder) takes
    the credentials' account from STS."""
    from fargate_env.config import select_service
    from fargate_env.ops.aws import Aws, account_from_credentials, refuse_placeholders

    config = load_env(env, env_file)
    if service is not None or not every:
        select_service(config, service)
    if not account_from_credentials(config):
        refuse_placeholders(config)
        return Aws.for_environment(config)
    with console.status("reading the account from the credentials (STS)"):
        aws = Aws.for_environment(config).with_credentials_account()
    console.print(
        f"account {aws.config.account}: from the credentials ({config.name} names none)",
        highlight=False,
    )
    return aws


def _checked_aws(
    env: str | None, env_file: Path | None, service: str | None = None, *, every: bool = False
) -> Any:
    aws = _aws(env, env_file, service, every=every)
    with console.status("checking AWS credentials (STS)"):
        aws.check_credentials()
    return aws


@app.command()
@user_errors
def push(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOption = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Image tag (default: git commit).")
    ] = None,
):
    """Build the sample image for a service's architecture and push it to its ECR repository."""
    from fargate_env.ops.images import push_image

    image = push_image(_aws(env, env_file, service), service, tag=tag, progress=console.print)
    console.print(f"pushed {image}")


@app.command()
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
):
    """Check credentials and images, synthesize, run the pinned `cdk deploy` (every stack, or
    one service's with --service); exit code follows cdk's."""
    from fargate_env.ops.deploy import run_deploy
    from fargate_env.synth import refuse_foreign_directory

    refuse_foreign_directory(out)
    aws = _aws(env, env_file, service, every=True)
    rc = run_deploy(
        aws, image_tag=image_tag, outdir=out, only=only, service=service, progress=console.print
    )
    raise typer.Exit(rc)


@app.command()
@user_errors
def verify(
    env: EnvOption = None, env_file: EnvFileOption = None, service: EveryServiceOption = None
):
    """Per service: stable, targets healthy, URL + health path answers 200; exit 0 pass, 1 fail."""
    from fargate_env.ops import render
    from fargate_env.ops.verify import run_verify

    aws = _checked_aws(env, env_file, service, every=True)
    with console.status("verifying") as status:
        results = run_verify(aws, service, progress=status.update)
    render.checks(console, f"verify: {aws.config.name}", results)
    if not all(check.ok for check in results):
        raise typer.Exit(1)


@app.command()
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
            help="Statuses that succeed: 200-299 (default), 200-399, or a list: 200,204,304.",
        ),
    ] = "200-299",
    env: EnvOption = None,
    env_file: EnvFileOption = None,
):
    """Bounded load; errors by cause, latency p50/p95/p99; exit 1 over --max-error-rate."""
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


@app.command()
@user_errors
def failover(env: EnvOption = None, env_file: EnvFileOption = None, service: ServiceOption = None):
    """Stop one running task of a service; time until desired count runs and targets are healthy."""
    from fargate_env.ops import render
    from fargate_env.ops.failover import run_failover

    report = run_failover(_checked_aws(env, env_file, service), service, progress=console.print)
    render.failover(console, report)
    if not report.ok:
        raise typer.Exit(1)


@app.command("scale-test")
@user_errors
def scale_test(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOption = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Load seconds.")] = None,
):
    """Drive /cpu load at a service, report scale-out and scale-in times; leaves the desired
    count as found."""
    from fargate_env.ops import render
    from fargate_env.ops.scale_test import run_scale_test

    aws = _checked_aws(env, env_file, service)
    seconds = duration if duration is not None else aws.config.ops.scale_test_load_seconds
    report = run_scale_test(aws, service, load_seconds=seconds, progress=console.print)
    render.scale(console, report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@user_errors
def rightsize(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: ServiceOption = None,
    days: Annotated[int, typer.Option("--days", help="Days of CloudWatch data.")] = 14,
):
    """Recommend the cheapest Fargate size keeping a service's p95 CPU/memory under the
    headroom; read-only."""
    from fargate_env.ops import render
    from fargate_env.ops.rightsize import run_rightsize

    aws = _checked_aws(env, env_file, service)
    with console.status(f"reading {days} days of CloudWatch metrics"):
        rec = run_rightsize(aws, days, service)
    render.rightsize(console, rec, days)


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:
        sys.exit(_usage_error(exc))
    except typer.Abort:  # Ctrl-C while typer was still parsing
        sys.exit(130)
    except BrokenPipeError:  # `fargate-env cost | head`
        sys.exit(0)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: typer.TyperException) -> int:
    """A wrong option or argument ends like every other user mistake: one line, exit 2."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        # no_args_is_help: building the exception already called ctx.get_help(), which with
        # rich prints the help itself and leaves the message empty; without rich the message
        # is the help text. Calling get_help() again here printed it twice.
        if help_text := exc.format_message():
            console.print(help_text, highlight=False, markup=False)
        return 0
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    err_console.print(error_line(f"{message}{hint}"), highlight=False, soft_wrap=True)
    return int(getattr(exc, "exit_code", 2))
