"""HAProxy standing in for the ALB: one frontend routing like the shared listener, one backend
per service with that service's target-group health check. The rehearsal feeds it what the
synthesized templates hold (fargate_env.local.templates): the ListenerRule resources, each
TargetGroup's check and attributes, the listener's fixed response and the ALB's idle timeout.

Mapping (ALB -> HAProxy):
  listener rules, lowest priority first -> ACLs + `use_backend` in priority order
  host-header condition (* and ?)      -> hdr(host) regex, case-insensitive, port ignored
  path-pattern condition (* and ?)     -> path / path_beg / path_reg, case-sensitive
  catch-all rule (path /*) / fixed 404 -> default_backend: the service, or a `return <status>`
  idle timeout                         -> timeout client / timeout server
  health_check.path / matcher          -> option httpchk GET <path> / http-check expect rstatus
  interval / timeout                   -> inter / timeout check (per backend)
  healthy / unhealthy threshold        -> rise / fall
  registering a target                 -> a server slot leaves maintenance, must pass `rise` checks
  deregistration delay                 -> slot in drain (no new requests), then maintenance
  the ALB never retries elsewhere      -> retries 0, no option redispatch
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fargate_env.config import HealthCheckConfig, Route
from fargate_env.local.instances import LocalError, ensure_port_free

SLOT_PREFIX = "task"
# Service names are lowercase letters, digits and dashes: an underscore never clashes.
NO_MATCH_BACKEND = "_no_match"
# What the ALB listener answers when no rule matches and no service is the default; the same
# text as fargate_env.constructs.load_balancer.NO_MATCH_BODY (a test keeps them equal; importing the
# stack here would load aws_cdk for a local command).
NO_MATCH_BODY = "no service matches this host and path"


def matcher_regex(matcher: str) -> str:
    """ALB matcher ("200", "200,202", "200-299") -> an anchored status regex for HAProxy."""
    codes: list[str] = []
    for part in matcher.split(","):
        lo, _, hi = part.strip().partition("-")
        codes.extend(str(c) for c in range(int(lo), int(hi or lo) + 1))
    return "^(" + "|".join(codes) + ")$"


@dataclass(frozen=True)
class CheckTiming:
    """One service's health-check numbers, optionally scaled down for a quick run."""

    path: str
    matcher: str
    interval_s: float
    timeout_s: float
    rise: int
    fall: int
    deregistration_delay_s: float
    scale: float = 1.0

    # Worst cases from a target dying to being marked down, and from starting to being
    # marked up: the config's formulas (HealthCheckConfig), at the rehearsal's scale.
    detection_bound_s: float = 0.0
    registration_bound_s: float = 0.0

    @classmethod
    def from_config(cls, hc: HealthCheckConfig, scale: float = 1.0) -> CheckTiming:
        # Thresholds are counts and stay as configured; only durations shrink with `scale`.
        return cls(
            path=hc.path,
            matcher=hc.matcher,
            interval_s=hc.interval_seconds * scale,
            timeout_s=hc.timeout_seconds * scale,
            rise=hc.healthy_threshold,
            fall=hc.unhealthy_threshold,
            deregistration_delay_s=hc.deregistration_delay_seconds * scale,
            scale=scale,
            detection_bound_s=hc.detection_bound_seconds * scale,
            registration_bound_s=hc.registration_bound_seconds * scale,
        )


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _word(text: str) -> str:
    """One HAProxy config word: escape what its parser would otherwise interpret."""
    return text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')


def _glob_regex(pattern: str) -> str:
    """An ALB wildcard pattern (`*` any run of characters, `?` exactly one) as a regex body."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def host_condition(hosts: Iterable[str]) -> str:
    """ACL criteria for a host-header condition: case-insensitive, any port, wildcards."""
    alternatives = "|".join(_glob_regex(h) for h in hosts)
    return f"hdr(host) -m reg -i {_word(f'^({alternatives})(:[0-9]+)?$')}"


def path_conditions(paths: Iterable[str]) -> list[str]:
    """ACL criteria for a path-pattern condition (ORed lines of one ACL): exact paths with
    `path`, a trailing `*` with `path_beg`, any other wildcard with an anchored `path_reg`.
    Case-sensitive and without the query string, like the ALB."""
    exact, prefixes, regexes = [], [], []
    for p in paths:
        body = p[:-1]
        if "*" not in p and "?" not in p:
            exact.append(p)
        elif p.endswith("*") and "*" not in body and "?" not in body:
            prefixes.append(body)
        else:
            regexes.append(f"^{_glob_regex(p)}$")
    lines = []
    if exact:
        lines.append("path " + " ".join(_word(p) for p in exact))
    if prefixes:
        lines.append("path_beg " + " ".join(_word(p) for p in prefixes))
    lines.extend(f"path_reg {_word(r)}" for r in regexes)
    return lines


@dataclass(frozen=True)
class BackendSpec:
    """One service's target group: its name, health check and how many task slots it has.

    `connect_port`: a backend's Service Connect stand-in for tasks run as processes, a
    frontend on 127.0.0.1:connect_port balancing over its tasks (what the Service Connect
    proxy does for http://NAME:PORT); `timing.path` "" checks TCP connects only (there is
    no target group to copy an HTTP check from)."""

    name: str
    timing: CheckTiming
    slots: int
    connect_port: int | None = None


def _frontend_rules(routes: list[Route], default: str | None) -> list[str]:
    lines = []
    for route in sorted((r for r in routes if not r.catch_all), key=lambda r: r.priority):
        acls = []
        if route.hosts:
            acls.append(f"r{route.priority}_host")
            lines.append(f"    acl r{route.priority}_host {host_condition(route.hosts)}")
        if route.paths:
            acls.append(f"r{route.priority}_path")
            lines.extend(
                f"    acl r{route.priority}_path {criteria}"
                for criteria in path_conditions(route.paths)
            )
        # Conditions of one rule are ANDed; values within a condition are ORed.
        lines.append(f"    use_backend {route.service} if {' '.join(acls)}")
    lines.append(f"    default_backend {default or NO_MATCH_BACKEND}")
    return lines


def _connect(spec: BackendSpec) -> str:
    if spec.connect_port is None:
        return ""
    return f"""
# {spec.name}: Service Connect stand-in (the tasks' http://NAME:PORT leads here)
frontend connect_{spec.name}
    bind 127.0.0.1:{spec.connect_port}
    default_backend {spec.name}
"""


def _backend(spec: BackendSpec) -> str:
    t = spec.timing
    http_check = (
        f"""
    option httpchk GET {_word(t.path)}
    http-check expect rstatus {matcher_regex(t.matcher)}"""
        if t.path
        else ""
    )
    return f"""{_connect(spec)}
# {spec.name}: health check at scale {t.scale:g}; deregistration delay \
{t.deregistration_delay_s:g} s (the rehearsal drains the slot that long)
backend {spec.name}
    balance roundrobin
    timeout check {_ms(t.timeout_s)}{http_check}
    http-response set-header X-Served-By %[be_name]/%[srv_name]
    default-server inter {_ms(t.interval_s)} fall {t.fall} rise {t.rise}
    # Empty target slots, in maintenance until a task is registered into one.
    server-template {SLOT_PREFIX} 1-{spec.slots} 127.0.0.1:1 check disabled
"""


def render_config(
    backends: list[BackendSpec],
    routes: list[Route],
    default: str | None,
    *,
    port: int,
    socket_path: Path,
    no_match: tuple[int, str] = (404, NO_MATCH_BODY),
    idle_timeout_s: int = 60,
) -> str:
    """The whole HAProxy config: the listener's rules in priority order, a backend per service,
    and the listener's fixed response (`no_match`: status, body) when no rule takes a request."""
    frontend = "\n".join(_frontend_rules(routes, default))
    status, body = no_match
    no_match_backend = (
        ""
        if default
        else f"""
# No rule matched and no service is the default: the listener's fixed response.
backend {NO_MATCH_BACKEND}
    http-request return status {status} content-type text/plain string "{_word(body)}"
"""
    )
    return f"""\
# Generated by fargate-env local from the synthesized listener rules and target groups.
global
    stats socket {socket_path} mode 600 level admin
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    # The ALB's idle timeout.
    timeout client {idle_timeout_s}s
    timeout server {idle_timeout_s}s
    # Like the ALB: a request that fails on its target is not retried on another one.
    retries 0
    option http-keep-alive

frontend alb
    bind 127.0.0.1:{port}
{frontend}
{"".join(_backend(b) for b in backends)}{no_match_backend}"""


def haproxy_binary() -> str:
    path = shutil.which("haproxy")
    if path is None:
        raise LocalError("haproxy is not installed (apt-get install -y haproxy)")
    return path


@dataclass
class ServerStat:
    name: str
    status: str  # UP, DOWN, MAINT, DRAIN, "UP 1/2" (going down), "DOWN 1/2" (coming up) ...
    address: str
    current_sessions: int


class HAProxy:
    """A foreground haproxy process plus its runtime API (the admin socket).

    A slot is named the way HAProxy names the server and the X-Served-By header reports it:
    "<backend>/<server>", e.g. "web/task1".
    """

    def __init__(
        self,
        backends: list[BackendSpec],
        routes: list[Route],
        default: str | None,
        *,
        port: int,
        workdir: Path,
        no_match: tuple[int, str] = (404, NO_MATCH_BODY),
        idle_timeout_s: int = 60,
    ) -> None:
        self.backends = {b.name: b for b in backends}
        self.routes = routes
        self.default = default
        self.no_match = no_match
        self.idle_timeout_s = idle_timeout_s
        self.port = port
        self.workdir = workdir
        self.socket_path = workdir / "haproxy.sock"
        self.config_path = workdir / "haproxy.cfg"
        self.log_path = workdir / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._free = {
            b.name: [f"{b.name}/{SLOT_PREFIX}{i}" for i in range(1, b.slots + 1)] for b in backends
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def render(self) -> str:
        return render_config(
            list(self.backends.values()),
            self.routes,
            self.default,
            port=self.port,
            socket_path=self.socket_path,
            no_match=self.no_match,
            idle_timeout_s=self.idle_timeout_s,
        )

    def start(self, timeout: float = 5.0) -> None:
        binary = haproxy_binary()
        ensure_port_free(self.port)
        self.config_path.write_text(self.render())
        check = subprocess.run(
            [binary, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise LocalError(f"haproxy rejected {self.config_path}: {check.stderr.strip()}")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [binary, "-db", "-f", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalError(f"haproxy exited with {self.proc.returncode}; see {self.log_path}")
            with contextlib.suppress(OSError):
                self.command("show info")
                return
            time.sleep(0.02)
        raise LocalError(f"haproxy admin socket not up after {timeout:g} s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, ServerStat]:
        """Every server slot of every backend, keyed "<backend>/<server>"."""
        raw = self.command("show stat -1 4 -1")
        rows = csv.DictReader(io.StringIO(raw.lstrip("# ")))
        return {
            f"{row['pxname']}/{row['svname']}": ServerStat(
                name=f"{row['pxname']}/{row['svname']}",
                status=row["status"],
                address=row.get("addr", ""),
                current_sessions=int(row["scur"] or 0),
            )
            for row in rows
            if row.get("svname") and row.get("pxname") in self.backends
        }

    def status(self, slot: str) -> str:
        return self.servers()[slot].status

    def register(self, backend: str, port: int) -> str:
        """Put a task into a free slot of `backend`; it serves once `rise` checks pass."""
        free = self._free[backend]
        if not free:
            raise LocalError(
                f"all {self.backends[backend].slots} HAProxy slots of {backend} are in use"
            )
        slot = free.pop(0)
        self._expect_empty(self.command(f"set server {slot} addr 127.0.0.1 port {port}"))
        # Out of maintenance HAProxy would trust the slot at once; forcing health down in the
        # same command batch makes it earn `rise` passing checks first, like an ALB target in
        # its "initial" state.
        self._expect_empty(
            self.command(f"set server {slot} state ready; set server {slot} health down")
        )
        return slot

    def drain(self, slot: str) -> None:
        """Deregistration starts: no new requests, in-flight ones finish."""
        self._expect_empty(self.command(f"set server {slot} state drain"))

    def deregister(self, slot: str) -> None:
        # Back to the configured weight 1, so the next task in this slot starts plain.
        self._expect_empty(self.command(f"set server {slot} state maint; set weight {slot} 1"))
        self._free[slot.split("/", 1)[0]].append(slot)

    def set_weights(self, weights: dict[str, int]) -> None:
        """Server weights (0..256) in one runtime-API batch: a share between slots changes
        at once, as a listener rule's target-group weights do. 0: no new requests."""
        if weights:
            batch = "; ".join(f"set weight {slot} {w}" for slot, w in weights.items())
            self._expect_empty(self.command(batch))

    def responses(self, slots: list[str]) -> tuple[int, int]:
        """(answered, 5xx) so far over these slots: their HTTP responses to traffic, health
        checks excluded (HAProxy's hrsp_* counters)."""
        raw = self.command("show stat -1 4 -1")
        answered = errors = 0
        for row in csv.DictReader(io.StringIO(raw.lstrip("# "))):
            if f"{row.get('pxname')}/{row.get('svname')}" in slots:
                codes = [int(row[f"hrsp_{k}xx"] or 0) for k in range(1, 6)]
                answered += sum(codes)
                errors += codes[4]
        return answered, errors

    def wait_status(self, slot: str, wanted: str, timeout: float, poll: float = 0.02) -> float:
        """Seconds until the slot's status is exactly `wanted` (e.g. "UP", "DOWN")."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.status(slot) == wanted:
                return time.monotonic() - start
            time.sleep(poll)
        raise LocalError(f"HAProxy did not report {slot} {wanted} within {timeout:g} s")

    def wait_idle(self, slot: str, timeout: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.servers()[slot].current_sessions == 0:
                break
            time.sleep(0.02)
        return time.monotonic() - start

    @staticmethod
    def _expect_empty(reply: str) -> None:
        # The runtime API answers a successful `set server` with an empty line.
        text = reply.strip()
        if text and not text.startswith("IP changed") and "no need to change" not in text:
            raise LocalError(f"HAProxy runtime API: {text}")
