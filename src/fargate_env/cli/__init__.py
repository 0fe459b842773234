"""The `fargate-env` command line: the root app and its command groups, one module each
(environment, ops, local, preview, destroy); every command is a few lines over the modules."""

from __future__ import annotations

import sys

import typer

from fargate_env.cli import destroy, environment, ops
from fargate_env.cli.local import local_app
from fargate_env.cli.options import console, err_console, error_line
from fargate_env.cli.preview import preview_app

app = typer.Typer(
    name="fargate-env",
    help="Synthesize, price, rehearse and run a non-production Fargate environment."
    "\n\nRun `fargate-env COMMAND --help` for a command's options.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(environment.synth)
app.command()(environment.check)
app.add_typer(local_app, name="local")
app.add_typer(preview_app, name="preview")
app.command()(destroy.destroy)
app.command()(environment.cost)
app.command()(environment.diagram)
app.command()(environment.plan)
app.command()(ops.push)
app.command()(ops.deploy)
app.command()(ops.verify)
app.command()(ops.status)
app.command()(ops.load)
app.command()(ops.failover)
app.command("scale-test")(ops.scale_test)
app.command()(ops.rightsize)
app.command("run-job")(ops.run_job)


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
