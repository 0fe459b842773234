"""What the rehearsal does per kind besides web: a backend reached by name (Service Connect),
tasks judged by their container check instead of a target group's.

Service Connect, locally:
- containers: one Docker network per rehearsal; every long-running task joins it and a
  backend's tasks carry its Service Connect name as a network alias, so http://NAME:PORT
  resolves inside any task, as in AWS (Docker's DNS answers with every task of the alias);
- processes: a name cannot resolve on the host without editing /etc/hosts, so HAProxy takes
  the proxy's part (a frontend on a loopback port over the backend's tasks) and a task's
  variables that name http://NAME:PORT get that loopback address instead. The rewrite is
  said once at start-up; an address the code builds by itself does not reach the backend.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping

from fargate_env.local.containers import LABEL, docker
from fargate_env.local.haproxy import CheckTiming
from fargate_env.local.instances import process_command
from fargate_env.local.templates import ContainerCheck, TaskTemplate

# A check command that has not answered within this long failed (Docker's own limit is
# the check's timeout; a process check gets the same, floored for a loaded machine).
CHECK_TIMEOUT_FLOOR_S = 1.0


def container_timing(check: ContainerCheck | None, scale: float) -> CheckTiming:
    """The numbers of a task judged by its container check (ECS's view: healthy after one
    passing check, unhealthy after `retries` failures): HAProxy's TCP check of a process
    backend uses them, and the bounds time the rehearsal's waits."""
    c = check or ContainerCheck(command=("NONE",))
    interval = c.interval_s * scale
    return CheckTiming(
        path="",
        matcher="200",
        interval_s=interval,
        timeout_s=max(c.timeout_s * scale, 0.1),
        rise=1,
        fall=c.retries,
        deregistration_delay_s=0.0,
        scale=scale,
        detection_bound_s=interval * (c.retries + 1),
        registration_bound_s=c.start_period_s * scale + interval * (c.retries + 1),
    )


def connect_rewrite(
    env: Mapping[str, str], aliases: Mapping[tuple[str, int], int]
) -> dict[str, str]:
    """`env` with each http://NAME:PORT of a backend's alias pointed at its loopback port."""
    out = dict(env)
    for (name, port), local in aliases.items():
        pattern = re.compile(rf"(?<=://){re.escape(name)}:{port}(?=[/?#]|$)")
        out = {k: pattern.sub(f"127.0.0.1:{local}", v) for k, v in out.items()}
    return out


def create_network(rehearsal_id: str, labels: Mapping[str, str]) -> str:
    """A Docker network of the rehearsal's own (removed with remove_network)."""
    name = f"fargate-env-{rehearsal_id}"
    args = ["network", "create", "--label", f"{LABEL}=network"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    docker(*args, name)
    return name


def remove_network(name: str) -> None:
    subprocess.run(["docker", "network", "rm", name], capture_output=True, timeout=60)


def process_check_passes(task: TaskTemplate, env: Mapping[str, str], service: str) -> bool:
    """Run a process task's container check once, as ECS runs it inside the task: with the
    task's variables (PORT is the process's own port). No check: nothing to fail."""
    check = task.check
    if check is None or check.command[:1] == ("NONE",):
        return True
    kind, *words = check.command
    argv = (
        ["/bin/sh", "-c", words[0]]
        if kind == "CMD-SHELL"
        else process_command(tuple(words), service)
    )
    timeout = max(check.timeout_s, CHECK_TIMEOUT_FLOOR_S)
    try:
        proc = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return False
    return proc.returncode == 0
