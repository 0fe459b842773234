"""Read an environment file and turn every failure into one line naming the file and field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fargate_env.config.environment import EnvironmentConfig, ServiceConfig

ENVIRONMENTS_DIR = Path("environments")
DEFAULT_ENV = "demo"


class ConfigError(Exception):
    """A user mistake in an environment file; str() is the one line to show."""


def resolve_env_path(env: str | None = None, env_file: Path | None = None) -> Path:
    """`--env NAME` means environments/NAME.toml; `--env-file PATH` any file."""
    if env_file is not None:
        return env_file
    name = env or DEFAULT_ENV
    if not re.match(r"^[A-Za-z0-9_.-]+$", name):
        raise ConfigError(f"--env {name!r}: use a file name from {ENVIRONMENTS_DIR}/ without .toml")
    return ENVIRONMENTS_DIR / f"{name}.toml"


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(top level)"
    field = field.replace(".[key]", "")  # a bad [services.NAME] table name
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{field}: unknown key (check the spelling; see environments/demo.toml)"
    if kind == "missing":
        return f"{field}: required field is missing"
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"] and kind == "value_error":
        return message  # a cross-section rule: its message starts with the field(s) it names
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{field}: {message.lower()} (got {error.get('input')!r})"
    return f"{field}: {message}"


def parse_config(data: dict[str, Any], source: str = "<config>") -> EnvironmentConfig:
    try:
        return EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_describe(errors[0])}{more}") from None


def load_config(path: Path) -> EnvironmentConfig:
    """Read and validate one environment file; every failure is a one-line ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such environment file (use --env NAME for environments/NAME.toml,"
            " or --env-file PATH)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be an environment file") from None
    config = parse_config(data, str(path))
    check_paths(config, path.parent, str(path))
    return config


def check_paths(config: EnvironmentConfig, base: Path, source: str) -> None:
    """Build contexts exist and hold their Dockerfile (paths relative to the file's directory)."""
    for name, svc in config.services.items():
        build = svc.image.build if svc.image else None
        if build is None:
            continue
        field = f"{source}: services.{name}.image.build"
        context = build.context_dir(base)
        if not context.is_dir():
            raise ConfigError(
                f"{field}.context: {context} is not a directory (paths are relative to the"
                " environment file)"
            )
        dockerfile = (context / build.dockerfile).resolve()
        if not dockerfile.is_relative_to(context):
            raise ConfigError(
                f"{field}.dockerfile: {build.dockerfile} resolves outside the context"
                f" {context}: the builder sees only the context; move it inside"
            )
        if not dockerfile.is_file():
            raise ConfigError(f"{field}.dockerfile: no file {dockerfile}")


def select_service(
    config: EnvironmentConfig, name: str | None, kinds: tuple[str, ...] | None = None
) -> tuple[str, ServiceConfig]:
    """`--service NAME`: required when the environment has several services, implied with one.
    `kinds`: a command for those kinds only (failover: web) counts and names only them; a
    NAME of another kind is returned for the command to refuse in its own words."""
    eligible = [n for n, svc in config.services.items() if kinds is None or svc.kind in kinds]
    which = "" if len(eligible) == len(config.services) else f"{'/'.join(kinds or ())} services "
    names = f"{which}{', '.join(eligible) or 'none'}"
    if name is None:
        if len(eligible) == 1:
            return eligible[0], config.services[eligible[0]]
        raise ConfigError(f"--service is required: environment {config.name!r} has {names}")
    if name not in config.services:
        raise ConfigError(f"--service {name!r}: environment {config.name!r} has {names}")
    return name, config.services[name]
