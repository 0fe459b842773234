"""How synth, check and the bill grow with the number of services.

Prints figures; it is not a pass/fail test. For 1, 5 and 25 services (clones of the demo's `api`
service, each with its own name, route and repository) it times:
  synth: fargate_env.synth.synthesize with CDK validation off, as `fargate-env synth` runs it;
  check: fargate_env.compliance.run_checks (CDK validation + cdk-nag + cfn-lint), as `check`;
(wall time: other work on the machine inflates it, so the load average is printed too)
and prices the synthesized templates: the total, and the cost per added service between two
sizes, which must be the same from 1 to 5 as from 5 to 25 (one more service costs the same
whatever the size). Goals on a 2-core machine: 25 services synth <= 10 s, check <= 40 s
(issue 21).

Each figure comes from a fresh process (as the CLI runs), so it includes the start of the jsii
runtime (longer with a cold jsii cache), not the imports.

Run: .venv/bin/python bench/synth_scaling.py [--sizes 1 5 25] [--no-check]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.pop("CDK_VALIDATION", None)  # read by nothing in src; kept out all the same

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "environments" / "demo.toml"
GOALS_S = {"synth": 10.0, "check": 40.0}
GOAL_AT = 25


def config_with(services: int):
    """The demo with `services` clones of its api service: svc-01 ... svc-NN."""
    from fargate_env.config import parse_config

    data = tomllib.loads(DEMO.read_text())
    api = data["services"]["api"]
    data["services"] = {}
    for index in range(1, services + 1):
        name = f"svc-{index:02d}"
        clone = copy.deepcopy(api)
        clone["routing"] = {"path_patterns": [f"/{name}", f"/{name}/*"]}
        clone.setdefault("environment", {})["PATH_PREFIX"] = f"/{name}"
        data["services"][name] = clone
    return parse_config(data, f"demo with {services} services")


def measure(what: str, size: int, outdir: Path) -> dict:
    """One measurement in this process: `what` is "synth" or "check"."""
    from fargate_env.assembly import assembly_region
    from fargate_env.compliance import run_checks
    from fargate_env.cost.estimate import estimate
    from fargate_env.synth import synthesize

    config = config_with(size)
    start = time.perf_counter()
    if what == "synth":
        stacks = synthesize(config, outdir, validation=False)
        seconds = time.perf_counter() - start
        bill = estimate(stacks, assembly_region(outdir), config.cost.usage)
        return {"seconds": seconds, "stacks": len(stacks), "total": bill.exact_total}
    report = run_checks(config, outdir)
    return {"seconds": time.perf_counter() - start, "findings": len(report.findings)}


def in_fresh_process(what: str, size: int, outdir: Path) -> dict:
    """Each command runs in a process of its own, as `fargate-env synth` / `check` do."""
    argv = [sys.executable, __file__, "--worker", what, str(size), str(outdir)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{what} of {size} services failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 25])
    parser.add_argument("--no-check", action="store_true", help="time synth only")
    parser.add_argument(
        "--worker", nargs=3, metavar=("WHAT", "SIZE", "OUTDIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        what, size, outdir = args.worker
        print(json.dumps(measure(what, int(size), Path(outdir))))
        return 0

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start;"
          " synth without CDK validation, check with it; one fresh process per figure")  # fmt: skip
    print()
    print(f"{'services':>8} {'stacks':>6} {'synth s':>8} {'check s':>8} {'findings':>8}"
          f" {'USD/month':>10} {'per added':>10}")  # fmt: skip
    rows = []
    previous: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory(prefix="synth-scaling-") as tmp:
        for size in args.sizes:
            synth = in_fresh_process("synth", size, Path(tmp) / f"synth-{size}")
            check = {"seconds": float("nan"), "findings": "-"}
            if not args.no_check:
                check = in_fresh_process("check", size, Path(tmp) / f"check-{size}")
            per_added = "-"
            if previous is not None:
                prev_size, prev_total = previous
                per_added = f"{(synth['total'] - prev_total) / (size - prev_size):.4f}"
            previous = (size, synth["total"])
            rows.append((size, synth["seconds"], check["seconds"]))
            print(f"{size:>8} {synth['stacks']:>6} {synth['seconds']:>8.1f}"
                  f" {check['seconds']:>8.1f} {check['findings']:>8}"
                  f" {synth['total']:>10.2f} {per_added:>10}", flush=True)  # fmt: skip
    print()
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine adds time)")
    for size, synth_s, check_s in rows:
        if size != GOAL_AT:
            continue
        for what, seconds in (("synth", synth_s), ("check", check_s)):
            if seconds != seconds:  # NaN: not measured
                continue
            verdict = "met" if seconds <= GOALS_S[what] else "not met"
            print(f"goal: {GOAL_AT} services {what} <= {GOALS_S[what]:.0f} s: {seconds:.1f} s,"
                  f" {verdict}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
