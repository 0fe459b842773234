"""What every `fargate-env` command shares: consoles, the environment options, one-line errors.

Its own module so that sub-apps (fargate_env.local.cli) and the root CLI import it alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fargate_env.config import ConfigError, EnvironmentConfig, load_config, resolve_env_path
from fargate_env.errors import UserError

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
