"""`local run-job NAME`: one run of a scheduled job from its task definition, its exit code
reported; on containers when a Docker engine answers (conftest.runtime), else processes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fargate_env.local.jobs import run_job
from fargate_env.local.templates import Deployed, read_deployed
from tests.local.kinds import KINDS, env_file, kinds_assembly

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from fargate_env.cli import main; main()", "local"]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kinds_assembly(KINDS, tmp_path_factory)


@pytest.fixture(scope="module")
def deployed(assembly: Path) -> Deployed:
    return read_deployed(assembly)


def test_a_job_runs_once_to_exit_0(deployed: Deployed, runtime: str, tmp_path: Path) -> None:
    run = run_job(deployed.services["nightly"], runtime=runtime, workdir=tmp_path, timeout_s=60)
    assert run.exit_code == 0 and run.succeeded
    # The template's command and environment ran: the job's own log lines, 20 items.
    assert '"msg":"job done"' in run.output[-1] and '"items":20' in run.output[-1]
    assert run.what.startswith("container " if runtime == "docker" else "process ")
    if runtime == "docker":  # removed once it has ended, its output kept
        name = run.what.split()[1]
        left = subprocess.run(["docker", "ps", "-aq", f"--filter=name={name}"], capture_output=True)
        assert left.stdout.strip() == b""


def test_a_failing_job_is_reported_with_its_exit_code(
    deployed: Deployed, runtime: str, tmp_path: Path
) -> None:
    run = run_job(deployed.services["broken"], runtime=runtime, workdir=tmp_path, timeout_s=60)
    assert run.exit_code == 3 and not run.succeeded
    assert '"msg":"job failed"' in run.output[-1]


def test_a_run_past_its_timeout_is_stopped_and_failed(
    deployed: Deployed, runtime: str, tmp_path: Path
) -> None:
    run = run_job(deployed.services["sleepy"], runtime=runtime, workdir=tmp_path, timeout_s=1)
    assert run.exit_code is None and not run.succeeded
    assert 1 <= run.duration_s < 10


def cli(*args: str, tmp_path: Path, assembly: Path) -> subprocess.CompletedProcess[str]:
    path = env_file(KINDS, tmp_path / "kinds.toml")
    return subprocess.run(
        [*CLI, "run-job", *args, "--env-file", str(path), "--assembly", str(assembly)],
        cwd=REPO,
        env={**os.environ, "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_job_exits_0_for_a_run_that_exits_0(
    assembly: Path, runtime: str, tmp_path: Path
) -> None:
    proc = cli("nightly", tmp_path=tmp_path, assembly=assembly)
    assert proc.returncode == 0, proc.stderr
    assert "nightly: one run of python -m sample_server.job, timeout 3600 s\n" in proc.stdout
    assert '  | {"ts":' in proc.stdout  # its own output, indented
    last = proc.stdout.rstrip().splitlines()[-1]
    kind = "container" if runtime == "docker" else "process"
    assert re.fullmatch(rf"nightly \({kind} [\w-]+\): exit code 0 after \d+\.\d\d s", last)


def test_run_job_exits_1_and_names_the_failure(
    assembly: Path, runtime: str, tmp_path: Path
) -> None:
    proc = cli("broken", tmp_path=tmp_path, assembly=assembly)
    assert proc.returncode == 1, proc.stderr
    last = proc.stdout.rstrip().splitlines()[-1]
    assert last.startswith("broken (") and ": failed: exit code 3 after " in last


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("web", 'web is a web; run-job runs a kind = "job" (jobs: nightly, broken, sleepy)'),
        ("nope", "no service 'nope' in local-test; its jobs: nightly, broken, sleepy"),
    ],
)
def test_run_job_of_what_is_not_a_job_is_one_line_exit_2(
    name: str, error: str, assembly: Path, tmp_path: Path
) -> None:
    proc = cli(name, tmp_path=tmp_path, assembly=assembly)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {error}"
    assert proc.stdout == ""


def test_sigterm_stops_the_run_and_leaves_nothing(assembly: Path, tmp_path: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="fe-", dir="/tmp"))
    path = env_file(KINDS, tmp_path / "kinds.toml")
    proc = subprocess.Popen(
        [*CLI, "run-job", "sleepy", "--env-file", str(path), "--assembly", str(assembly),
         "--runtime", "process"],
        cwd=REPO, env={**os.environ, "COLUMNS": "1000", "TMPDIR": str(work)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        lines = []
        while not (line := proc.stdout.readline()).startswith("sleepy: started"):  # type: ignore[union-attr]
            assert line, "".join(lines)
            lines.append(line)
        (pid,) = re.findall(r"process (\d+)", line)
        assert list(work.glob("fargate-env-local-*"))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        left_dirs = list(work.glob("fargate-env-local-*"))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    left = Path(f"/proc/{pid}/stat")
    if left.exists() and left.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        os.kill(int(pid), signal.SIGKILL)
        pytest.fail(f"the run (pid {pid}) outlived run-job")
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "SIGTERM: stopped the run before the report" in out
    assert left_dirs == []
