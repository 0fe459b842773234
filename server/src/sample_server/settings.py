"""Runtime settings, read once from the environment (12-factor, as ECS passes them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sample_server import __version__

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A bad environment variable; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


@dataclass(frozen=True, kw_only=True)
class Settings:
    host: str = "0.0.0.0"  # in a container the task ENI is the boundary
    port: int = 8080
    service_name: str = "sample-server"
    version: str = __version__
    log_level: str = "INFO"
    metadata_uri: str | None = None
    # ECS sends SIGKILL after stopTimeout (30 s by default in our config); finishing in-flight
    # work must end well before that, so the drain is capped below it.
    shutdown_timeout_seconds: float = 20.0
    # Optional pause between "not ready" and closing the listener, for load balancers that
    # watch /ready; the ALB deregisters before SIGTERM, so 0 is right on ECS.
    shutdown_delay_seconds: float = 0.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        level = env.get("LOG_LEVEL", "INFO").upper() or "INFO"
        if level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        return cls(
            host=env.get("HOST", "0.0.0.0") or "0.0.0.0",
            port=_int(env, "PORT", 8080, 1, 65535),
            service_name=env.get("SERVICE_NAME", "sample-server") or "sample-server",
            version=env.get("APP_VERSION", __version__) or __version__,
            log_level=level,
            metadata_uri=env.get("ECS_CONTAINER_METADATA_URI_V4") or None,
            shutdown_timeout_seconds=_float(env, "SHUTDOWN_TIMEOUT_SECONDS", 20.0, 0.1, 3600),
            shutdown_delay_seconds=_float(env, "SHUTDOWN_DELAY_SECONDS", 0.0, 0.0, 3600),
        )
