"""`fargate-env local ...` end to end, in a subprocess (real exit codes, real stderr)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from fargate_env.cli import main; main()", "local"]
PAIR_TOML = """\
name = "local-test"
region = "us-east-1"
[load_balancer]
allow_http_only = true
[services.web]
routing.default = true
[services.api]
routing.path_patterns = ["/ready"]
"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie left for its parent to reap is gone for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def pids(stdout: str) -> list[int]:
    return [int(p) for p in re.findall(r"\(pid (\d+)", stdout)]


def test_up_runs_every_service_for_a_bounded_time() -> None:
    proc = run("up", "--env", "demo", "--tasks", "1", "--time-scale", "0.1", "--duration", "0.5")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2 service(s), 1 task(s) each, behind one HAProxy" in out
    assert "web: health check GET /health every 1 s, timeout 0.5 s, rise 2, fall 2" in out
    assert re.search(r"route \d+: path /api \| /api/\* -> api\n", out)
    assert "anything else -> web" in out
    # Progress while the tasks start, per service.
    for slot in ("web/task1", "api/task1"):
        assert re.search(rf"  {slot}: started {slot.split('/')[0]}-task-1 \(pid \d+", out)
        assert re.search(rf"  {slot}: healthy after \d+\.\d\d s", out)
    assert ("capped at 0.25 vCPU / 512 MiB" in out) or ("uncapped (" in out)
    assert out.rstrip().endswith("stopped every task and HAProxy")
    assert not [p for p in pids(out) if alive(p)]


def read_until(proc: subprocess.Popen[str], text: str, lines: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        lines.append(line)
        if not line or text in line:
            break
    assert text in lines[-1], "".join(lines)


def test_ctrl_c_stops_everything_and_exits_0() -> None:
    proc = subprocess.Popen(
        [*CLI, "up", "--env", "demo", "--tasks", "1", "--time-scale", "0.1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        read_until(proc, "Ctrl-C stops everything.", lines, timeout=40)
        # While it runs, what happens to a task shows up on its own.
        (web_pid,) = re.findall(r"web/task1: started web-task-1 \(pid (\d+)", "".join(lines))
        os.kill(int(web_pid), signal.SIGKILL)
        read_until(proc, "web/task1: ", lines, timeout=10)
        assert "exited with code -9" in lines[-1]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "interrupted: stopped every task and HAProxy" in out
    assert "error" not in err
    started = pids("".join(lines))
    assert len(started) == 3  # HAProxy and one task per service
    assert not [p for p in started if alive(p)]


@pytest.mark.parametrize("command", ["failover", "restart"])
def test_service_is_required_with_several(command: str) -> None:
    proc = run(command, "--env", "demo")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --service is required: environment 'demo' has web, api"
    ]
    assert proc.stdout == ""  # nothing started


@pytest.mark.parametrize("command", ["failover", "restart"])
def test_unknown_service_is_one_line_exit_2(command: str) -> None:
    proc = run(command, "--env", "demo", "--service", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --service 'nope': environment 'demo' has web, api"
    ]


def test_restart_one_service_from_the_command_line(tmp_path: Path) -> None:
    env_file = tmp_path / "pair.toml"
    env_file.write_text(PAIR_TOML)
    proc = run(
        "restart",
        "--env-file",
        str(env_file),
        "--service",
        "api",
        "--tasks",
        "1",
        "--time-scale",
        "0.1",
        "--rate",
        "50",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"api/task1 -> api/task2: new healthy in .* old exited 0", proc.stdout)
    assert re.search(r"web \(GET http://127\.0\.0\.1:\d+/\): requests \d+, failed 0", proc.stdout)
    assert re.search(
        r"api \(GET http://127\.0\.0\.1:\d+/ready\): requests \d+, failed 0", proc.stdout
    )


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
