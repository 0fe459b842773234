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


@pytest.mark.parametrize(
    ("args", "usage", "commands"),
    [
        ([], "Usage: fargate-env [OPTIONS] COMMAND", ["synth", "check", "cost", "local"]),
        (["local"], "Usage: fargate-env local [OPTIONS] COMMAND", ["up", "failover", "restart"]),
    ],
    ids=["root", "local"],
)
def test_no_arguments_prints_help_once_and_exits_0(args, usage, commands):
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(usage) == 1, result.stdout
    assert all(command in result.stdout for command in commands)
    assert result.stderr == ""


@pytest.mark.parametrize("args", [[], ["local"]], ids=["root", "local"])
def test_no_arguments_prints_plain_help_once_without_rich(args, monkeypatch, capsys):
    """Without rich, typer puts the help text in the exception's message instead of printing."""
    import typer.core

    from fargate_env import cli

    monkeypatch.setattr(typer.core, "HAS_RICH", False)
    monkeypatch.setattr(sys, "argv", ["fargate-env", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.count("Usage: fargate-env") == 1, out


def test_command_exit_codes_pass_through():
    result = run("cost", "--format", "xml")
    assert result.returncode == 2 and "use 'table' or 'json'" in result.stderr
