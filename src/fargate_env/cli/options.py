"""What every `fargate-env` command shares: consoles, the shared options, one-line errors,
and the one way a command gets the environment's AWS session."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from fargate_env.config import ConfigError, EnvironmentConfig, load_config, resolve_env_path
from fargate_env.errors import UserError

# User values (tags, paths, URLs, file names) are printed literally: no emoji codes (":secret:"),
# and every line that carries one is built as Text or printed with markup=False, never markup.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

EnvOption = Annotated[str | None, typer.Option("--env", "-e", help="Use environments/NAME.toml.")]
EnvFileOption = Annotated[
    Path | None, typer.Option("--env-file", help="Environment file (beats --env).")
]
OutOption = Annotated[Path, typer.Option("--out", help="Cloud assembly directory.")]
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="Service name (needed if several)."),
]
EveryServiceOption = Annotated[
    str | None, typer.Option("--service", "-s", help="One service (default: every service).")
]


def error_line(message: str) -> Text:
    """ "error: MESSAGE" with MESSAGE taken literally: "[/red]" or ":secret:" in a user's value
    stays as written."""
    return Text.assemble(("error:", "bold red"), " ", message)


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit: the way every user mistake ends."""
    err_console.print(error_line(message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def jsii_error_line(exc: BaseException) -> str | None:
    """The first line of an error raised inside CDK's node process, or None for other errors."""
    from jsii.errors import JavaScriptError, JSIIError

    if not isinstance(exc, JSIIError) and not isinstance(exc.__cause__, JavaScriptError):
        return None
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


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
        except BrokenPipeError:
            raise
        except OSError as exc:
            # Last resort for a path the user named that cannot be read or written.
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
        except Exception as exc:
            # Last resort: CDK refused what the config validation let through.
            line = jsii_error_line(exc)
            if line is None:
                raise
            fail(f"synthesis failed: {line}")

    return wrapper


def load_env(env: str | None, env_file: Path | None) -> EnvironmentConfig:
    return load_config(resolve_env_path(env, env_file))


def environment_aws(
    env: str | None,
    env_file: Path | None,
    service: str | None = None,
    *,
    every: bool = False,
    checked: bool = False,
    quiet: bool = False,
) -> Any:
    """The environment's AWS session, the same way for every command. Before anything touches
    AWS: --service must name a service (and is required with several unless `every`: None
    means every service), and demo placeholders are refused. A file without an account (and
    no other placeholder, e.g. the quickstart) takes the credentials' account from STS.
    `checked`: also prove the credentials work (STS) before returning. `quiet`: the account
    line goes to stderr (the command prints JSON on stdout)."""
    from fargate_env.config import select_service
    from fargate_env.ops.aws import Aws, account_from_credentials, refuse_placeholders

    config = load_env(env, env_file)
    if service is not None or not every:
        select_service(config, service)
    if not account_from_credentials(config):
        refuse_placeholders(config)
        aws = Aws.for_environment(config)
    else:
        with console.status("reading the account from the credentials (STS)"):
            aws = Aws.for_environment(config).with_credentials_account()
        (err_console if quiet else console).print(
            f"account {aws.config.account}: from the credentials ({config.name} names none)",
            highlight=False,
        )
    if checked:
        with console.status("checking AWS credentials (STS)"):
            aws.check_credentials()
    return aws
