"""The sample image as a container, next to the bare process, at a Fargate task's 0.25 vCPU.

Prints figures; it is not a pass/fail test. Needs a Docker engine, wrk and sample-server:local
(`make image`). Every container runs as `fargate-env local up` runs a task: with the `docker run`
flags of the demo's synthesized `web` task definition (fargate_env.local.containers: --cpus 0.25
--memory 512m --read-only --user --init --cap-drop ALL --tmpfs /tmp --stop-timeout, its
variables, and its container health check, durations x --time-scale), published on 127.0.0.1
only; the bare `python -m sample_server` gets the same variables and the same cap from a cgroup
(as in bench/service_capacity.py; "uncapped" when the machine does not allow it). It measures:
  - the image size;
  - cold start: `docker run` until GET /ready answers 200 (fresh container each time; image
    and page cache warm);
  - time until `docker inspect` reports the task definition's health check healthy;
  - req/s with wrk -c32 on GET /health: container via its published port, a container on the
    host's network bound to 127.0.0.1 (no docker-proxy in the path), and the bare process;
    alternated, in the same run.
Goals: cold start <= 1.0 s, image <= 150 MB, container >= 0.9 x process req/s.

Each round measures the three back to back (the order reversed every other round) and gives
one container/process ratio; the median ratio is reported, as this machine may be shared
(the load average is printed). "thr": CFS periods in which the cap throttled each server.

Run: .venv/bin/python bench/container.py [--duration 5] [--rounds 4] [--starts 5] [--time-scale 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from service_capacity import run_wrk

from fargate_env.config import load_config
from fargate_env.local.cgroup import Capper, describe
from fargate_env.local.containers import docker_run_args, task_environment
from fargate_env.local.instances import Instance, free_port, http_status, start_instance
from fargate_env.local.templates import LOCAL_IMAGE, TaskTemplate, synthesized

REPO = Path(__file__).resolve().parents[1]
IMAGE = LOCAL_IMAGE
SERVICE = "web"  # the demo service whose synthesized task definition runs
ENV = {"LOG_LEVEL": "WARNING"}  # both: the probes are not logged anyway
GOAL_START_S, GOAL_SIZE_MB, GOAL_RATIO = 1.0, 150, 0.9
CGROUP_CPU = Path("/sys/fs/cgroup/cpu")


def docker(*args: str, timeout: float = 60) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=True
    ).stdout.strip()


class Container:
    """One capped container on 127.0.0.1:<port>; remove() always runs (try/finally)."""

    def __init__(
        self, names: list[str], task: TaskTemplate, scale: float, host_network: bool = False
    ) -> None:
        self.name = f"bench-{uuid.uuid4().hex[:10]}"
        names.append(self.name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = ENV
        if host_network:
            # The host's network namespace, bound to 127.0.0.1 only: no docker-proxy between
            # wrk and the server (Fargate's awsvpc ENI has none either).
            env = {**ENV, "HOST": "127.0.0.1", "PORT": str(self.port)}
        args = docker_run_args(task, name=self.name, port=self.port, scale=scale, extra_env=env)
        if host_network:
            at = args.index("-p")
            args[at : at + 2] = ["--network", "host"]
        self.started = time.monotonic()
        docker(*args)

    def wait(self, probe, timeout: float) -> float:
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if probe():
                return time.monotonic() - self.started
            time.sleep(0.01)
        raise TimeoutError(f"{self.name}: not there after {timeout} s")

    def ready_s(self) -> float:
        return self.wait(lambda: http_status(self.url + "/ready", timeout=0.5) == 200, 30)

    def healthy_s(self) -> float:
        return self.wait(lambda: self.inspect("{{.State.Health.Status}}") == "healthy", 60)

    def inspect(self, template: str) -> str:
        return docker("inspect", "-f", template, self.name)

    def throttled(self) -> str:
        """Periods in which the CPU quota ran out (cgroup v1, cgroupfs driver): proof the cap
        bit."""
        stat = CGROUP_CPU / "docker" / self.inspect("{{.Id}}") / "cpu.stat"
        return _nr_throttled(stat)


def _nr_throttled(stat: Path) -> str:
    try:
        fields = dict(line.split() for line in stat.read_text().splitlines())
    except OSError:
        return "n/a"
    return fields.get("nr_throttled", "n/a")


def process_throttled(instance: Instance) -> str:
    group = instance.cgroup
    if group is None or group.version != 1:
        return "n/a"
    return _nr_throttled(group.paths[0] / "cpu.stat")


def rps(url: str, duration: int, connections: int) -> tuple[float, float, int]:
    run_wrk(url + "/health", 1, connections)  # warm-up: first-request costs
    return run_wrk(url + "/health", duration, connections)


def preflight() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install -y wrk)"
    if shutil.which("docker") is None:
        return "docker is not installed"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode:
        return "no Docker engine answers (start dockerd)"
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode:
        return f"no image {IMAGE} (make image)"
    return None


def line(label: str, figures: tuple[float, float, int], throttled: str) -> str:
    rate, p99, errors = figures
    return f"  {label:20s} {rate:6.0f} req/s  p99 {p99:5.1f} ms  err {errors}  thr {throttled}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="wrk seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4, help="paired rounds")
    parser.add_argument("--starts", type=int, default=5, help="cold starts to time")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="x the container check's durations"
    )
    args = parser.parse_args()
    problem = preflight()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    deployed = synthesized(load_config(REPO / "environments" / "demo.toml"))
    task = deployed.services[SERVICE].task
    cpu_units, memory_mib = task.cpu_units, task.memory_mib

    size_mb = int(docker("image", "inspect", "-f", "{{.Size}}", IMAGE)) / 1e6
    base = docker("image", "inspect", "-f", "{{json .Config.Labels}}", IMAGE)
    labels = json.loads(base) or {}
    print(f"{IMAGE}: {size_mb:.1f} MB  [goal <= {GOAL_SIZE_MB} MB]")
    if "org.opencontainers.image.description" in labels:
        print(f"  base: {labels['org.opencontainers.image.description']} (local stand-in)")

    flags = docker_run_args(task, name="NAME", port=0, scale=args.time_scale)
    shown = flags[flags.index("--cpus") : flags.index("-e")]
    print(f"containers: the synthesized demo {SERVICE} task: {' '.join(shown)}")
    names: list[str] = []
    try:
        # Cold starts, one fresh container at a time; the first also waits for healthy.
        starts, healthy = [], None
        for i in range(args.starts):
            container = Container(names, task, args.time_scale)
            starts.append(container.ready_s())
            if i == 0:
                healthy = container.healthy_s()
            docker("rm", "-f", container.name)
            names.remove(container.name)
        median = statistics.median(starts)
        print(
            f"cold start to /ready: median {median:.2f} s"
            f" ({min(starts):.2f}-{max(starts):.2f}, n={len(starts)})  [goal <= {GOAL_START_S} s]"
        )
        check = task.check
        assert check is not None
        print(
            f"healthy by the task definition's check after {healthy:.1f} s (first check at the"
            f" {check.interval_s * args.time_scale:g} s interval, start period"
            f" {check.start_period_s * args.time_scale:g} s)"
        )

        capper = Capper.detect()
        print(
            f"req/s, wrk -c{args.connections} -d{args.duration}s GET /health, "
            f"{args.rounds} rounds; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"  process {describe(cpu_units, memory_mib, capper)}, the task's variables")
        results: dict[str, list[tuple[float, float, int]]] = {
            "container (port)": [],
            "container (host net)": [],
            "process": [],
        }
        throttled: dict[str, str] = {}
        container = Container(names, task, args.time_scale)
        container.ready_s()
        host_net = Container(names, task, args.time_scale, host_network=True)
        host_net.ready_s()
        with tempfile.TemporaryDirectory(prefix="bench-container-") as tmp:
            port = free_port()
            instance = start_instance(
                "sample_server",
                port=port,
                log_dir=Path(tmp),
                capper=capper,
                cpu_units=cpu_units,
                memory_mib=memory_mib,
                env=task_environment(task, {**ENV, "PORT": str(port)}),
            )
            try:
                instance.wait_ready(timeout=15)
                targets = [
                    ("container (port)", container.url),
                    ("container (host net)", host_net.url),
                    ("process", instance.url),
                ]
                for i in range(args.rounds):
                    for label, url in targets if i % 2 == 0 else reversed(targets):
                        results[label].append(rps(url, args.duration, args.connections))
                throttled["process"] = process_throttled(instance)
            finally:
                instance.terminate(timeout=5)
                instance.cleanup()
        throttled["container (port)"] = container.throttled()
        throttled["container (host net)"] = host_net.throttled()
    finally:
        if names:
            subprocess.run(["docker", "rm", "-f", *names], capture_output=True, timeout=60)

    for label, runs in results.items():
        median_rps = statistics.median(r[0] for r in runs)
        worst_p99 = max(r[1] for r in runs)
        errors = sum(r[2] for r in runs)
        print(line(label, (median_rps, worst_p99, errors), throttled[label]))
    print(f"load average now {os.getloadavg()[0]:.1f}")
    process = [r[0] for r in results["process"]]
    ratios = {}
    for label in ("container (port)", "container (host net)"):
        per_round = [r[0] / p for r, p in zip(results[label], process, strict=True)]
        ratios[label] = statistics.median(per_round)
        print(
            f"{label} / process: median {ratios[label]:.2f}"
            f" (rounds {min(per_round):.2f}-{max(per_round):.2f})  [goal >= {GOAL_RATIO}]"
        )
    ratio = ratios["container (port)"]
    print(
        "goals: "
        f"start {'ok' if median <= GOAL_START_S else 'MISSED'}, "
        f"size {'ok' if size_mb <= GOAL_SIZE_MB else 'MISSED'}, "
        f"ratio {'ok' if ratio >= GOAL_RATIO else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
