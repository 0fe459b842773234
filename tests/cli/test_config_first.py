"""A config error is found before the CDK is loaded: synth, check, cost and diagram validate
the environment file first, so a mistake costs well under a second, not the jsii start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_imports import PROBE
from tests.conftest import demo_text

COMMANDS = [["synth"], ["check"], ["cost"], ["cost", "--compare"], ["diagram"]]


@pytest.fixture(scope="module")
def bad_file(tmp_path_factory) -> Path:
    """The demo with one mistake: a CPU size Fargate does not offer."""
    path = tmp_path_factory.mktemp("bad") / "bad.toml"
    text = demo_text().replace("[services.api]\n", "[services.api]\ncpu = 300\n", 1)
    path.write_text(text)
    return path


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_config_error_exits_2_before_the_cdk_is_imported(args, bad_file, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--env-file", str(bad_file)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert last == "aws_cdk not loaded 2", (last, result.stderr)
    assert "cpu" in result.stderr and "Traceback" not in result.stderr
