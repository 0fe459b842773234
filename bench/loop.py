"""The inner loop as a user runs it: each command a fresh process of the console script.

Prints figures; it is not a pass/fail test. Every step runs `--runs` times (default 5) as
`.venv/bin/fargate-env ...` in the project directory, wall time, and prints min / median / max
next to the goal (2-core machine, demo environment), the median CPU seconds (user + system of
the command and its jsii node process, which load inflates far less than wall time) and the
1-minute load average before and after the step: other work on the machine inflates every wall
figure, so read them with it.

Steps:
  jsii floor      `python -c "import aws_cdk; aws_cdk.App()"`: the jsii runtime's start on its
                  own, which every command that synthesizes pays once
  config error    `synth --env-file BAD` where BAD has one invalid value: exit 2, one line
  synth           `synth --env demo --out TMP`
  check           `check --env demo --out TMP`
  cost (reused)   `cost --env demo` after a `synth --env demo` left ./cdk.out
  cost --compare  `cost --env demo --compare`

Run: .venv/bin/python bench/loop.py [--root DIR] [--runs 5] [--skip compare] [--save F.json]
     .venv/bin/python bench/loop.py --baseline DIR [--runs 5]   (before/after in one run)
     .venv/bin/python bench/loop.py --table before.json after.json   (the before/after table)

--root runs another checkout's code with this venv (PYTHONPATH=ROOT/src): how the "before"
column was measured on a copy of main. --baseline DIR measures DIR's code the same way,
alternating its runs with this checkout's within each step, so both columns see the same
load; it prints the medians side by side and their ratio (after / before).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS_S = {
    "jsii floor": None,
    "config error": 1.0,
    "synth": 4.0,
    "check": 10.0,
    "cost (reused)": 2.0,
    "cost --compare": 15.0,
}


def load() -> float:
    return os.getloadavg()[0]


def cpu_seconds() -> float:
    """User + system CPU of every waited-for descendant (python, and jsii's node process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], cwd: Path, env: dict, expect: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one run: CPU time is what load inflates least."""
    start, cpu = time.perf_counter(), cpu_seconds()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != expect:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        sys.exit(f"{' '.join(argv[1:])}: exit {proc.returncode}, expected {expect}: {tail}")
    return elapsed, cpu_seconds() - cpu


def steps(root: Path, scratch: Path) -> dict[str, tuple[list[str], int, list[str] | None]]:
    """step -> (argv, expected exit code, argv to run once before the step or None)."""
    cli = str(root / ".venv" / "bin" / "fargate-env")
    bad = scratch / "bad.toml"
    # The demo with one mistake: a CPU size Fargate does not offer.
    demo = (root / "environments" / "demo.toml").read_text()
    bad.write_text(demo.replace("[services.api]\n", "[services.api]\ncpu = 300\n", 1))
    out = str(scratch / "cdk.out")
    return {
        "jsii floor": (
            [str(root / ".venv" / "bin" / "python"), "-c", "import aws_cdk; aws_cdk.App()"],
            0,
            None,
        ),
        "config error": ([cli, "synth", "--env-file", str(bad), "--out", out], 2, None),
        "synth": ([cli, "synth", "--env", "demo", "--out", out], 0, None),
        "check": ([cli, "check", "--env", "demo", "--out", out], 0, None),
        "cost (reused)": ([cli, "cost", "--env", "demo"], 0, [cli, "synth", "--env", "demo"]),
        "cost --compare": ([cli, "cost", "--env", "demo", "--compare"], 0, None),
    }


def environment(root: Path) -> dict:
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", COLUMNS="80")
    env.pop("CDK_VALIDATION", None)
    if root != ROOT:
        env["PYTHONPATH"] = f"{root / 'src'}{os.pathsep}{root / 'server' / 'src'}"
    return env


def summary(measured: list[tuple[float, float]], load_before: float) -> dict:
    times, cpus = [m[0] for m in measured], [m[1] for m in measured]
    return {
        "min": min(times),
        "median": statistics.median(times),
        "max": max(times),
        "cpu_median": statistics.median(cpus),
        "runs": len(measured),
        "load": [round(load_before, 1), round(load(), 1)],
    }


def measure_pair(
    baseline: Path, root: Path, runs: int, skip: set[str], save: Path | None
) -> dict[str, dict]:
    """Each step's runs alternate: baseline, this checkout, baseline, ... (same load)."""
    sides = {"before": baseline, "after": root}
    results: dict[str, dict] = {"before": {}, "after": {}}
    print(f"{'step':<15} {'goal':>8} {'before':>7} {'after':>6} {'ratio':>6}"
          f" {'cpu before':>10} {'after':>5}  load")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        for side in sides:
            (Path(tmp) / side).mkdir()
        plans = {side: steps(path, Path(tmp) / side) for side, path in sides.items()}
        for name in plans["after"]:
            if any(word in name for word in skip):
                continue
            load_before = load()
            measured: dict[str, list] = {"before": [], "after": []}
            for _ in range(runs):
                for side, path in sides.items():
                    argv, expect, before = plans[side][name]
                    if before and not measured[side]:  # its cdk.out: the other side's is apart
                        run_once(before, path, environment(path), 0)
                    measured[side].append(run_once(argv, path, environment(path), expect))
            for side in sides:
                results[side][name] = summary(measured[side], load_before)
            b, a = results["before"][name], results["after"][name]
            print(
                f"{name:<15} {goal(name):>8} {b['median']:7.1f} {a['median']:6.1f}"
                f" {a['median'] / b['median']:6.2f} {b['cpu_median']:10.1f}"
                f" {a['cpu_median']:5.1f}  {a['load'][0]:.1f}-{a['load'][1]:.1f}",
                flush=True,
            )
            if save:
                save.write_text(json.dumps({"runs": runs, "pair": results}, indent=1))
    return results


def measure(root: Path, runs: int, skip: set[str], save: Path | None) -> dict[str, dict]:
    env = environment(root)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        for name, (argv, expect, before) in steps(root, Path(tmp)).items():
            if any(word in name for word in skip):
                continue
            if before:
                run_once(before, root, env, 0)
            load_before = load()
            measured = [run_once(argv, root, env, expect) for _ in range(runs)]
            results[name] = summary(measured, load_before)
            print_row(name, results[name], flush=True)
            if save:  # after every step: a long run cut short keeps what it measured
                save.write_text(json.dumps({"runs": runs, "steps": results}, indent=1))
    return results


def goal(name: str) -> str:
    value = GOALS_S.get(name)
    return f"<= {value:g} s" if value else "floor"


def print_row(name: str, r: dict, flush: bool = False) -> None:
    load_text = f"{r['load'][0]:.1f}-{r['load'][1]:.1f}"
    print(
        f"{name:<15} {goal(name):>8} {r['min']:6.1f} {r['median']:6.1f} {r['max']:6.1f}"
        f" {r.get('cpu_median', float('nan')):5.1f}  {load_text}",
        flush=flush,
    )


def header() -> None:
    print(f"{'step':<15} {'goal':>8} {'min':>6} {'median':>6} {'max':>6} {'cpu':>5}  load (1 min)")


def table(before: dict, after: dict) -> None:
    """Median wall and CPU seconds before and after, the goal, and the load of each."""
    print(f"{'step':<15} {'goal':>8} {'wall before':>11} {'after':>6} {'cpu before':>10}"
          f" {'after':>5}  load")  # fmt: skip
    for name in GOALS_S:
        b, a = (side["steps"].get(name) for side in (before, after))
        wall = [f"{r['median']:.1f}" if r else "-" for r in (b, a)]
        cpu = [f"{r['cpu_median']:.1f}" if r and "cpu_median" in r else "-" for r in (b, a)]
        loads = "/".join(f"{r['load'][0]:.0f}" if r else "-" for r in (b, a))
        print(f"{name:<15} {goal(name):>8} {wall[0]:>11} {wall[1]:>6} {cpu[0]:>10} {cpu[1]:>5}"
              f"  {loads}")  # fmt: skip
    print(f"(medians of {before['runs']} / {after['runs']} fresh processes, seconds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], help="steps whose name holds a word")
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    parser.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alongside")
    args = parser.parse_args()
    if args.table:
        table(*(json.loads(p.read_text()) for p in args.table))
        return
    root = args.root.resolve()
    print(f"{root}: {os.cpu_count()} CPUs, {args.runs} runs each, seconds")
    if args.baseline:
        print(f"before: {args.baseline.resolve()} (runs alternate with after's)")
        measure_pair(args.baseline.resolve(), root, args.runs, set(args.skip), args.save)
        return
    header()
    measure(root, args.runs, set(args.skip), args.save)


if __name__ == "__main__":
    main()
