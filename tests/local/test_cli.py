"""`fargate-env local ...` end to end, in a subprocess (real exit codes, real stderr): each
command synthesizes the environment and runs its templates, on containers when a Docker engine
answers (conftest.runtime), and on processes, in one line, when none does."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local.conftest import IN_CI

REPO = Path(__file__).resolve().parents[2]
# A Docker engine that never answers: the fallback to processes.
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
FALLBACK = (
    "no Docker engine answers (Cannot connect to the Docker daemon at"
    " unix:///nonexistent/docker.sock. Is the docker daemon running?):"
    " falling back to tasks as processes\n"
)
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
    """The CLI in a wide terminal (each line prints whole) unless `env` sets COLUMNS."""
    return subprocess.run(
        [*CLI, *args],
        cwd=REPO,
        env={**os.environ, "COLUMNS": "1000", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
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


def test_up_fits_80_columns(runtime: str) -> None:
    proc = run(
        "up", "--env", "demo", "--tasks", "1", "--time-scale", "0.1", "--duration", "0.5",
        env={"COLUMNS": "80"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    # Wrapped, not cut: the long task line is all there.
    assert "0 secrets (dummy values)" in " ".join(proc.stdout.split())


def test_up_runs_every_service_for_a_bounded_time(runtime: str) -> None:
    proc = run("up", "--env", "demo", "--tasks", "1", "--time-scale", "0.1", "--duration", "0.5")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("synthesizing the environment; rehearsing what its templates hold\n")
    assert "3 service(s), 1 task(s) each, behind one HAProxy" in out
    assert "web: health check GET /health every 1 s, timeout 0.5 s, rise 2, fall 2" in out
    assert (
        "web: task sample-server:local (image: the service's ECR repository), 0.25 vCPU /"
        " 512 MiB, user 10001, read-only root, tmpfs /tmp, init, cap-drop ALL, stop timeout"
        " 30 s, container check every 1 s, retries 3, start period 1 s, 8 variables,"
        " 0 secrets (dummy values)\n"
    ) in out
    assert re.search(r"route \d+: path /api \| /api/\* -> api\n", out)
    assert "anything else -> web" in out
    # Progress while the tasks start, per service (the job waits for run-job).
    for slot in ("web/task1", "api/task1", "orders/task1"):
        assert re.search(rf"  {slot}: started {slot.split('/')[0]}-task-1 \(pid \d+", out)
    for slot in ("web/task1", "api/task1"):  # through HAProxy's checks
        assert re.search(rf"  {slot}: healthy after \d+\.\d\d s", out)
    # The backend: by its container's check, reached by name.
    assert re.search(r"  orders/task1: (container check )?healthy", out)
    assert "http://orders:8080" in out
    assert "nightly: a job; not started here (fargate-env local run-job nightly)" in out
    if runtime == "docker":
        assert "\ntasks run as containers of sample-server:local (for the service's ECR" in out
        assert "tasks capped at 0.25 vCPU / 512 MiB (docker --cpus / --memory)" in out
        assert re.search(r"started web-task-1 \(pid \d+, container fargate-env-web-task-1-", out)
    else:
        assert "falling back to tasks as processes\n" in out
        assert ("capped at 0.25 vCPU / 512 MiB" in out) or ("uncapped (" in out)
    assert out.rstrip().endswith("stopped every task and HAProxy")
    assert not [p for p in pids(out) if alive(p)]
    if runtime == "docker":
        names = re.findall(r"container (fargate-env-[\w-]+)", out)
        assert len(names) == 3
        left = subprocess.run(
            ["docker", "ps", "-aq", *(f"--filter=name={n}" for n in names)],
            capture_output=True,
            text=True,
        )
        assert left.stdout.strip() == ""  # removed, not just stopped


def read_until(proc: subprocess.Popen[str], text: str, lines: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        lines.append(line)
        if not line or text in line:
            break
    assert text in lines[-1], "".join(lines)


def test_ctrl_c_stops_everything_and_exits_0(runtime: str) -> None:
    proc = subprocess.Popen(
        [*CLI, "up", "--env", "demo", "--tasks", "1", "--time-scale", "0.1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        read_until(proc, "Ctrl-C stops everything.", lines, timeout=90)
        # While it runs, what happens to a task shows up on its own.
        (web_pid,) = re.findall(r"web/task1: started web-task-1 \(pid (\d+)", "".join(lines))
        os.kill(int(web_pid), signal.SIGKILL)
        read_until(proc, "web/task1: ", lines, timeout=10)
        # A container's init was SIGKILLed: Docker reports 128 + 9.
        assert f"exited with code {137 if runtime == 'docker' else -9}" in lines[-1]
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
    assert len(started) == 4  # HAProxy and one task per web service and backend
    assert not [p for p in started if alive(p)]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR short enough for HAProxy's unix socket path (108 bytes) inside it."""
    path = Path(tempfile.mkdtemp(prefix="fe-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def using(path: Path) -> list[int]:
    """Live processes whose command line or working directory lies under `path` (HAProxy's
    -f names its config in the work directory; the tasks start in their own sessions)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if (str(path) in cmdline or cwd.startswith(str(path))) and alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def signalled(
    tmp_path: Path, args: list[str], ready: str, signum: signal.Signals
) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    """Run `local ARGS` on processes with TMPDIR=tmp_path, send `signum` once `ready` shows;
    (the finished run, the pids it started). Nothing must be left in tmp_path."""
    proc = subprocess.Popen(
        [*CLI, *args, "--tasks", "1", "--time-scale", "0.1", "--runtime", "process"],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "1000"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # killpg reaches what it started if the test fails
    )
    lines: list[str] = []
    try:
        read_until(proc, ready, lines, timeout=90)
        started = pids("".join(lines))
        assert list(tmp_path.glob("fargate-env-local-*")), "the work directory is in TMPDIR"
        assert using(tmp_path), "HAProxy runs from the work directory"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = [p for p in started if alive(p)]
    for pid in left:  # a failing run must not leave them running
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert using(tmp_path) == []
    assert not list(tmp_path.glob("fargate-env-local-*"))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), started


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_or_sighup_stops_everything_and_removes_the_work_directory(
    short_tmp: Path, signum: signal.Signals
) -> None:
    """A supervisor's stop (SIGTERM) or a closed terminal (SIGHUP) is Ctrl-C: no task, no
    HAProxy still answering, no work directory left in TMPDIR."""
    proc, started = signalled(
        short_tmp, ["up", "--env", "demo"], "Ctrl-C stops everything.", signum
    )
    assert len(started) == 4  # HAProxy and one task per web service and backend
    assert proc.returncode == 0, proc.stderr
    assert f"{signum.name}: stopped every task and HAProxy" in proc.stdout


@pytest.mark.parametrize("command", ["failover", "restart"])
def test_sigterm_stops_a_failover_or_restart_midway_and_leaves_nothing(
    short_tmp: Path, command: str
) -> None:
    """Sent while the rehearsal is under load, before the report: every task and HAProxy
    stopped, the work directory gone, exit 128 + 15 with one line saying so."""
    proc, started = signalled(
        short_tmp, [command, "--env", "demo", "--service", "web"], "ready at", signal.SIGTERM
    )
    assert len(started) == 4  # HAProxy and one task per web service and backend
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert "SIGTERM: stopped every task and HAProxy before the report\n" in proc.stdout
    assert "Traceback" not in proc.stderr


DEPLOY = "deploy --strategy canary"


@pytest.mark.parametrize("command", ["failover", "restart", DEPLOY])
def test_service_is_required_with_several(command: str) -> None:
    proc = run(*command.split(), "--env", "demo")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --service is required: environment 'demo' has web services web, api"
    ]
    assert proc.stdout == ""  # nothing started


@pytest.mark.parametrize("command", ["failover", "restart", DEPLOY])
def test_unknown_service_is_one_line_exit_2(command: str) -> None:
    proc = run(*command.split(), "--env", "demo", "--service", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --service 'nope': environment 'demo' has web services web, api"
    ]


@pytest.mark.parametrize("command", ["failover", "restart", DEPLOY])
@pytest.mark.parametrize(("service", "kind"), [("orders", "backend"), ("nightly", "job")])
def test_a_service_of_another_kind_is_refused_before_anything_starts(
    command: str, service: str, kind: str
) -> None:
    proc = run(*command.split(), "--env", "demo", "--service", service)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {service} is a {kind}: this rehearses a web service behind the load balancer"
    ]
    assert proc.stdout == ""  # nothing synthesized, no task started


@pytest.mark.parametrize("engine", ["as found", "none"])
def test_restart_one_service_from_the_command_line(
    engine: str, runtime: str, tmp_path: Path
) -> None:
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
        env=NO_ENGINE if engine == "none" else None,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if engine == "none":
        assert FALLBACK in proc.stdout
    elif runtime == "docker":
        assert "tasks run as containers of sample-server:local" in proc.stdout
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


def test_no_engine_falls_back_to_processes_and_says_so_in_one_line() -> None:
    proc = run(
        "up",
        "--tasks",
        "1",
        "--time-scale",
        "0.1",
        "--duration",
        "0.1",
        env={"FARGATE_ENV_NO_CGROUP": "1", **NO_ENGINE},
    )
    assert proc.returncode == 0, proc.stderr
    assert FALLBACK in proc.stdout
    assert "container" not in proc.stdout.split(FALLBACK)[1]
    # A process is capped by a cgroup; here that is off too, and said so.
    assert "uncapped (disabled by FARGATE_ENV_NO_CGROUP)" in proc.stdout


def test_runtime_docker_without_an_engine_is_one_line_exit_2() -> None:
    proc = run("up", "--runtime", "docker", "--duration", "0.1", env=NO_ENGINE)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --runtime docker: no Docker engine answers (Cannot connect to the Docker daemon"
        " at unix:///nonexistent/docker.sock. Is the docker daemon running?)"
    ]


def test_assembly_that_is_not_one_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = run("up", "--assembly", str(tmp_path), "--duration", "0.1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: --assembly {tmp_path}: not a cloud assembly (no manifest.json)"
    ]


def test_the_ci_run_has_an_engine(runtime: str) -> None:
    # conftest.runtime fails under CI=true without an engine and the image.
    assert runtime == "docker" or not IN_CI


CERTIFICATE = "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-4000-8000-000000000000"
CANARY_TOML = f"""\
name = "local-test"
region = "us-east-1"
[load_balancer]
certificate_arn = "{CERTIFICATE}"
[services.web]
routing.default = true
deployment.strategy = "canary"
deployment.canary_percent = 25
"""


def test_canary_deploy_of_a_bad_version_rolls_back_and_exits_1(tmp_path: Path) -> None:
    env_file = tmp_path / "canary.toml"
    env_file.write_text(CANARY_TOML)
    proc = run(
        *DEPLOY.split(),
        "--env-file",
        str(env_file),
        "--new-env",
        "FAULT_STATUS=500",
        "--runtime",
        "process",
        "--time-scale",
        "0.05",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "canary share 25 % (weights 150 old / 50 new per task)" in out
    assert re.search(r"verdict: rolled back after \d\.\d\d s of canary traffic", out)
    assert re.search(r"requests: old version \d+, new version (\d+) \(5xx \1, 100\.0 %\)", out)
    assert "failed requests not answered by a new task: 0" in out
    assert re.search(r"retired web/task3: drained .* exited 0", out)
    # What the deploy prints, from its first step on, fits 80 columns.
    deploy = out[out.index("web/task3: started") :]
    assert max(len(line) for line in deploy.splitlines()) <= 80, deploy


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--strategy", "linear"], "--strategy 'linear': the rehearsal deploys with canary only"),
        (
            ["--strategy", "canary", "--new-env", "FAULT_STATUS"],
            "--new-env 'FAULT_STATUS': expected KEY=VALUE (KEY a variable name)",
        ),
        (
            ["--strategy", "canary", "--new-env", "1X=2"],
            "--new-env '1X=2': expected KEY=VALUE (KEY a variable name)",
        ),
    ],
)
def test_deploy_refuses_bad_options_in_one_line(args: list[str], error: str) -> None:
    proc = run("deploy", *args, "--env", "demo", "--service", "web")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {error}"]
    assert proc.stdout == ""
