"""`python -m sample_server.job`: a bounded run that exits 0, or JOB_EXIT_CODE when set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sample_server.job import work


def run_job(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sample_server.job"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_run_does_its_work_logs_json_and_exits_0() -> None:
    proc = run_job(JOB_ITEMS="50")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["msg"] for line in lines] == ["job started", "job done"]
    assert lines[1]["items"] == 50
    assert lines[1]["digest"] == work(50)


def test_job_exit_code_fails_the_run_with_it() -> None:
    proc = run_job(JOB_ITEMS="5", JOB_EXIT_CODE="3")
    assert proc.returncode == 3
    assert json.loads(proc.stdout.splitlines()[-1])["msg"] == "job failed"


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"JOB_ITEMS": "many"}, "JOB_ITEMS must be an integer, got 'many'"),
        ({"JOB_ITEMS": "0"}, "JOB_ITEMS must be between 1 and 100000, got 0"),
        ({"JOB_EXIT_CODE": "300"}, "JOB_EXIT_CODE must be between 0 and 255, got 300"),
    ],
)
def test_bad_setting_is_one_line_and_exit_2(env: dict[str, str], error: str) -> None:
    proc = run_job(**env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"sample_server.job: {error}"


def test_work_is_bounded_and_deterministic() -> None:
    assert work(3) == work(3) != work(4)
