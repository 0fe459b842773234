"""The `fargate-env` command line: each command is a few lines that call the modules."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fargate_env.config import ConfigError, EnvironmentConfig, load_config, resolve_env_path
from fargate_env.errors import UserError
from fargate_env.local.cli import local_app

app = typer.Typer(
    name="fargate-env",
    help="Synthesize, check, price, rehearse and operate a non-production ECS Fargate environment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

EnvOption = Annotated[
    str | None, typer.Option("--env", "-e", help="Environment name: environments/NAME.toml.")
]
EnvFileOption = Annotated[
    Path | None, typer.Option("--env-file", help="Any environment file (overrides --env).")
]
OutOption = Annotated[Path, typer.Option("--out", help="Cloud assembly directory.")]


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit: the way every user mistake ends."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one line and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, UserError) as exc:
            fail(str(exc), getattr(exc, "exit_code", 2))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def load_env(env: str | None, env_file: Path | None) -> EnvironmentConfig:
    return load_config(resolve_env_path(env, env_file))


@app.command()
@user_errors
def synth(env: EnvOption = None, env_file: EnvFileOption = None, out: OutOption = Path("cdk.out")):
    """Validate the config, synthesize every stack, print a summary."""
    from fargate_env.summary import render_summary
    from fargate_env.synth import synthesize

    config = load_env(env, env_file)
    with console.status("synthesizing"):
        stacks = synthesize(config, out)
    render_summary(console, config, stacks, out)


@app.command()
@user_errors
def check(env: EnvOption = None, env_file: EnvFileOption = None, out: OutOption = Path("cdk.out")):
    """Config validation + synth with CDK validation + cdk-nag + cfn-lint; exit 1 on findings."""
    from fargate_env.compliance import run_checks

    config = load_env(env, env_file)
    with console.status("synthesizing with cdk-nag and CDK validation, then cfn-lint"):
        report = run_checks(config, out)
    table = Table(title=f"checks: {config.name}")
    for column in ("gate", "findings", "result"):
        table.add_column(column)
    for gate, findings in report.gates.items():
        table.add_row(gate, str(len(findings)), "[red]fail[/]" if findings else "[green]pass[/]")
    console.print(table)
    for finding in report.findings:
        console.print(f"[red]✗[/] {finding}", highlight=False, soft_wrap=True)
    console.print(f"waivers in force: {report.waiver_count} (src/fargate_env/compliance.py)")
    if report.findings:
        raise typer.Exit(1)


app.add_typer(local_app, name="local")


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
    from fargate_env.diagram import write_diagram

    config = load_env(env, env_file)
    with console.status("synthesizing and drawing"):
        written = write_diagram(config, out)
    console.print(f"wrote {written}")


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `fargate-env cost | head`
        sys.exit(0)
