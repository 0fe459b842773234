"""The console script itself: wrong options end as one line and exit 2, like other mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "fargate-env"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["synth", "--bogus"], ["No such option: --bogus", "fargate-env synth --help"]),
        (["local", "up", "--tasks", "0"], ["--tasks", "greater than or equal to 1"]),
        (["no-such-command"], ["No such command", "fargate-env --help"]),
        (["load"], ["Missing argument", "fargate-env load --help"]),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, words):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in result.stderr


def test_no_arguments_prints_help_and_exits_0():
    result = run()
    assert result.returncode == 0
    assert "synth" in result.stdout and "check" in result.stdout and "cost" in result.stdout


def test_command_exit_codes_pass_through():
    result = run("cost", "--format", "xml")
    assert result.returncode == 2 and "use 'table' or 'json'" in result.stderr
