"""Capacity of the sample service at a Fargate task's 0.25 vCPU, against a bare baseline.

Prints figures; it is not a pass/fail test. Both servers run in the same run, each capped at
0.25 CPU by a cgroup (when the machine allows; otherwise it says "uncapped"), and wrk drives
`-c32 -d5s` on loopback against /health of:
  (a) our service:      python -m sample_server
  (b) a bare baseline:  granian --interface asgi + a starlette hello-world
Goals: ratio >= 0.85, p99 <= 100 ms, RSS <= 80 MiB, start <= 1.5 s.

Run: .venv/bin/python bench/service_capacity.py [--duration 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from fargate_env.local.cgroup import Capper, describe
from fargate_env.local.instances import Instance, free_port, rss_kib, start_instance

CPU_UNITS, MEMORY_MIB = 256, 512
BASELINE_APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request):
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/health", hello)])
    """
)


@dataclass
class Figures:
    name: str
    rps: float
    p99_ms: float
    rss_mib: float
    start_s: float
    errors: int
    throttled: str  # cgroup periods in which the quota ran out: proof the cap bit


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, duration: int, connections: int) -> tuple[float, float, int]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s", url],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, _ms(*p99.groups()), errors + (int(non2xx.group(1)) if non2xx else 0)  # type: ignore[union-attr]


def measure(name: str, instance: Instance, duration: int, connections: int) -> Figures:
    start_s = instance.wait_ready(path="/health", timeout=15)
    run_wrk(instance.url + "/health", 1, connections)  # warm-up: first-request costs
    rps, p99, errors = run_wrk(instance.url + "/health", duration, connections)
    return Figures(
        name, rps, p99, rss_kib(instance.pid) / 1024, start_s, errors, throttled(instance)
    )


def throttled(instance: Instance) -> str:
    group = instance.cgroup
    if group is None or group.version != 1:
        return "n/a"
    stat = (group.paths[0] / "cpu.stat").read_text()
    match = re.search(r"nr_throttled (\d+)", stat)
    return match.group(1) if match else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    capper = Capper.detect()
    print(
        f"each server {describe(CPU_UNITS, MEMORY_MIB, capper)}; wrk -c{args.connections}"
        f" -d{args.duration}s on 127.0.0.1, GET /health"
    )
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "baseline_app.py").write_text(BASELINE_APP)
        port = free_port()
        commands = {
            "sample_server": None,
            "baseline granian+starlette": [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--no-ws",
                "baseline_app:app",
            ],
        }
        for name, command in commands.items():
            instance = start_instance(
                name.split()[0],
                port=port if command else free_port(),
                log_dir=workdir,
                capper=capper,
                cpu_units=CPU_UNITS,
                memory_mib=MEMORY_MIB,
                env={"PYTHONPATH": tmp, "LOG_LEVEL": "WARNING"},
                command=command,
            )
            try:
                results.append(measure(name, instance, args.duration, args.connections))
            finally:
                instance.terminate(timeout=5)
                instance.cleanup()
    ours, base = results
    for f in results:
        print(
            f"{f.name:28s} {f.rps:8.0f} req/s  p99 {f.p99_ms:6.1f} ms  RSS {f.rss_mib:5.1f} MiB"
            f"  start {f.start_s:5.2f} s  errors {f.errors}  throttled {f.throttled}"
        )
    ratio = ours.rps / base.rps
    print(f"ratio (ours / baseline) {ratio:.2f}  [goal >= 0.85]")
    print(
        "goals for ours: "
        f"ratio {'ok' if ratio >= 0.85 else 'MISSED'}, "
        f"p99 {'ok' if ours.p99_ms <= 100 else 'MISSED'}, "
        f"RSS {'ok' if ours.rss_mib <= 80 else 'MISSED'}, "
        f"start {'ok' if ours.start_s <= 1.5 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
