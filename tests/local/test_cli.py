"""`fargate-env local ...` end to end, in a subprocess (real exit codes, real stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from fargate_env.cli import main; main()", "local", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_up_for_a_bounded_time() -> None:
    proc = run("up", "--env", "demo", "--tasks", "1", "--time-scale", "0.1", "--duration", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "1 task(s) behind HAProxy at http://127.0.0.1:" in proc.stdout
    assert "GET /health every 1 s, timeout 0.5 s, rise 2, fall 2" in proc.stdout
    assert ("capped at 0.25 vCPU / 512 MiB" in proc.stdout) or ("uncapped (" in proc.stdout)


def test_bad_env_is_one_line_exit_2() -> None:
    proc = run("failover", "--env", "no-such-env")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "no-such-env" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_haproxy_is_one_line_exit_2(tmp_path: Path) -> None:
    # A PATH with python but no haproxy.
    (tmp_path / "python").symlink_to(sys.executable)
    proc = run("up", "--duration", "0.1", env={"PATH": str(tmp_path)})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: haproxy is not installed (apt-get install -y haproxy)"
    ]


def test_uncapped_when_cgroups_are_off() -> None:
    proc = run(
        "up",
        "--tasks",
        "1",
        "--time-scale",
        "0.1",
        "--duration",
        "0.1",
        env={"FARGATE_ENV_NO_CGROUP": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "uncapped (disabled by FARGATE_ENV_NO_CGROUP)" in proc.stdout
