"""Runtime settings, read once from the environment (12-factor, as ECS passes them)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sample_server import __version__

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Path segments of RFC 3986 unreserved characters: what an ALB path rule matches literally.
_PREFIX_SEGMENTS = re.compile(r"(/[A-Za-z0-9._~-]+)+")
# Long enough not to be guessed by someone probing a public ALB.
CPU_TOKEN_MIN_LEN = 16


class SettingsError(ValueError):
    """A bad environment variable; the message names it."""


def env_int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """An integer variable in [lo, hi], `default` when unset or empty (SettingsError names it)."""
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


def _path_prefix(env: Mapping[str, str]) -> str:
    raw = env.get("PATH_PREFIX", "")
    if raw == "":
        return ""
    if not raw.startswith("/"):
        raise SettingsError(f"PATH_PREFIX must start with '/', got {raw!r}")
    if raw.endswith("/"):
        raise SettingsError(f"PATH_PREFIX must not end with '/' (unset it for none), got {raw!r}")
    segments = raw.split("/")[1:]
    if not _PREFIX_SEGMENTS.fullmatch(raw) or any(s in (".", "..") for s in segments):
        raise SettingsError(
            f"PATH_PREFIX must be /segment[/segment...] of letters, digits and . _ ~ -, got {raw!r}"
        )
    return raw


def _upstream(env: Mapping[str, str]) -> str | None:
    raw = env.get("UPSTREAM_URL", "")
    if raw == "":
        return None
    # Plain http to a name inside the environment (Service Connect speaks http); no userinfo,
    # query or fragment: the endpoint calls exactly this URL and nothing a client could steer.
    parts = urlsplit(raw)
    if parts.scheme != "http" or not parts.hostname or "@" in parts.netloc:
        raise SettingsError(f"UPSTREAM_URL must be http://NAME[:PORT][/path], got {raw!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"UPSTREAM_URL must have no query or fragment, got {raw!r}")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise SettingsError(f"UPSTREAM_URL has a bad port, got {raw!r}") from None
    return raw


def _cpu_token(env: Mapping[str, str]) -> str | None:
    raw = env.get("CPU_ENDPOINT_TOKEN", "")
    if raw == "":
        return None
    # Never echo the value: it is a secret, and this message goes to the logs.
    if not all("!" <= c <= "~" for c in raw):
        raise SettingsError("CPU_ENDPOINT_TOKEN must be printable ASCII without spaces")
    if len(raw) < CPU_TOKEN_MIN_LEN:
        raise SettingsError(f"CPU_ENDPOINT_TOKEN must be at least {CPU_TOKEN_MIN_LEN} characters")
    return raw


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
    # Services sharing one ALB are routed by path and the ALB does not strip it: the app's
    # routes answer under this prefix ("" = at the root).
    path_prefix: str = ""
    # /cpu burns the task's CPU on demand: off (404) unless this is set, then only for requests
    # carrying it in X-Cpu-Token. Kept out of repr so it never lands in a log line.
    cpu_endpoint_token: str | None = field(default=None, repr=False)
    # A connection that has not sent a complete request head within this long is closed, so
    # silent clients cannot pile up. hyper (under granian) has one timer for this and for
    # idle keep-alive connections: it also closes those after this long.
    header_read_timeout_seconds: float = 5.0
    # Connections held at once (granian's backpressure). Its embedded default, 128, let 128
    # silent connections stop all accepts, /health included.
    max_connections: int = 1024
    # Rehearsal fault injection (FAULT_STATUS, default off): every app route answers this
    # status while /health and /ready keep passing, so a "bad new version" stays registered
    # and only a deployment's 5xx-rate alarm can catch it. Never set it in a real deploy.
    fault_status: int | None = None
    # UPSTREAM_URL (default off): GET /upstream calls this one URL and reports its answer, so a
    # rehearsal or a deploy shows this service reaching another by name (http://api:8080/ via
    # Service Connect). Only this configured URL, never one from the request.
    upstream_url: str | None = None
    upstream_timeout_seconds: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        level = env.get("LOG_LEVEL", "INFO").upper() or "INFO"
        if level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        return cls(
            host=env.get("HOST", "0.0.0.0") or "0.0.0.0",
            port=env_int(env, "PORT", 8080, 1, 65535),
            service_name=env.get("SERVICE_NAME", "sample-server") or "sample-server",
            version=env.get("APP_VERSION", __version__) or __version__,
            log_level=level,
            metadata_uri=env.get("ECS_CONTAINER_METADATA_URI_V4") or None,
            shutdown_timeout_seconds=_float(env, "SHUTDOWN_TIMEOUT_SECONDS", 20.0, 0.1, 3600),
            shutdown_delay_seconds=_float(env, "SHUTDOWN_DELAY_SECONDS", 0.0, 0.0, 3600),
            path_prefix=_path_prefix(env),
            cpu_endpoint_token=_cpu_token(env),
            # Up to above the ALB's largest idle timeout (4000 s), should keep-alive need it.
            header_read_timeout_seconds=_float(env, "HEADER_READ_TIMEOUT_SECONDS", 5.0, 0.1, 4100),
            max_connections=env_int(env, "MAX_CONNECTIONS", 1024, 16, 65536),
            fault_status=env_int(env, "FAULT_STATUS", 0, 400, 599) or None,
            upstream_url=_upstream(env),
            upstream_timeout_seconds=_float(env, "UPSTREAM_TIMEOUT_SECONDS", 2.0, 0.1, 60),
        )
