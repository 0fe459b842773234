"""Start, probe and stop sample-service processes on 127.0.0.1, each in its own cgroup."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fargate_env.errors import UserError
from fargate_env.local.cgroup import Capper, Cgroup


class LocalError(UserError):
    """A problem the user can fix (port busy, tool missing); str() is the one-line message."""


def free_port() -> int:
    """A port the kernel just handed out; racy in theory, fine for a loopback rehearsal."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_port_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise LocalError(f"port {port} on 127.0.0.1 is already in use") from None


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """Status code of a GET, or None when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


class Task(Protocol):
    """What a running task is to the rehearsal, as a process or as a container."""

    name: str
    port: int
    log_path: Path
    started_at: float

    @property
    def url(self) -> str: ...

    @property
    def exit_code(self) -> int | None: ...

    def alive(self) -> bool: ...


def wait_ready(task: Task, path: str, timeout: float) -> float:
    """Seconds from the task's start until `path` answers 200; LocalError if it dies first or
    `timeout` s pass."""
    deadline = task.started_at + timeout
    while time.monotonic() < deadline:
        if not task.alive():
            raise LocalError(
                f"{task.name} exited with code {task.exit_code} during start-up;"
                f" see {task.log_path}"
            )
        if http_status(task.url + path, timeout=0.5) == 200:
            return time.monotonic() - task.started_at
        time.sleep(0.02)
    raise LocalError(f"{task.name} not ready on port {task.port} after {timeout:g} s")


@dataclass
class Instance:
    """One running service process (a "task")."""

    name: str
    port: int | None
    proc: subprocess.Popen[bytes]
    log_path: Path
    cgroup: Cgroup | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        """None while it runs; a negative number is the signal that ended it."""
        return self.proc.poll()

    def wait_ready(self, path: str = "/ready", timeout: float = 10.0) -> float:
        """Seconds from spawn until `path` answers 200; LocalError if it dies or times out."""
        return wait_ready(self, path, timeout)

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM and wait up to `timeout` s; returns the exit code (None: still running)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()

    def cleanup(self) -> None:
        """Always safe to call: kill if needed, then drop the cgroup."""
        with contextlib.suppress(ProcessLookupError):
            self.kill()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


def process_command(command: tuple[str, ...] | None, service: str) -> list[str]:
    """A task definition's command as a local process: the image's CMD (None) is
    `python -m sample_server`; a python command runs on this interpreter, where the sample
    server is installed. Anything else needs its image (one line)."""
    if command is None:
        return [sys.executable, "-m", "sample_server"]
    if re.fullmatch(r"python(3(\.\d+)?)?", command[0]):
        return [sys.executable, *command[1:]]
    raise LocalError(
        f"{service}: its command {' '.join(command)!r} runs only in its image; use --runtime docker"
    )


def start_instance(
    name: str,
    *,
    port: int | None,
    log_dir: Path,
    capper: Capper | None = None,
    cpu_units: int = 256,
    memory_mib: int = 512,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> Instance:
    """Spawn `python -m sample_server` (or `command`) on 127.0.0.1:port (None: a task that
    listens nowhere, e.g. a job's run), capped when possible."""
    if port is not None:
        ensure_port_free(port)
    group = capper.create(name, cpu_units, memory_mib) if capper and capper.available else None
    child_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        **({"PORT": str(port)} if port is not None else {}),
        "SERVICE_NAME": "sample-server",
        **(env or {}),
    }
    log_path = log_dir / f"{name}.log"
    log = log_path.open("ab")
    try:
        proc = subprocess.Popen(
            command or [sys.executable, "-m", "sample_server"],
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Joining the cgroup before exec caps start-up too, as on Fargate.
            preexec_fn=group.add_self if group else None,
            start_new_session=True,  # a Ctrl-C in the terminal goes to us, not to the tasks
        )
    except OSError as exc:
        if group:
            group.remove()
        raise LocalError(f"cannot start {name}: {exc}") from None
    finally:
        log.close()
    return Instance(name=name, port=port, proc=proc, log_path=log_path, cgroup=group)


def rss_kib(pid: int) -> int:
    """Resident set of a process and all its descendants, in KiB (from /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
    return total
