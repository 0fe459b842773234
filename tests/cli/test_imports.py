"""Commands that only talk to AWS never load the CDK (2.7-5.5 s of jsii start-up before they
did anything): each runs to its first refusal in a fresh interpreter, which then reports
whether `aws_cdk` was imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Each reaches its command's modules, then stops on the demo's placeholders (or a bad URL).
AWS_COMMANDS = [
    ["push", "--env", "demo", "--service", "web"],
    ["verify", "--env", "demo"],
    ["status", "--env", "demo"],
    ["failover", "--env", "demo", "--service", "web"],
    ["scale-test", "--env", "demo", "--service", "web"],
    ["rightsize", "--env", "demo", "--service", "web"],
    ["run-job", "web", "--env", "demo"],
    ["destroy", "--env", "demo", "--yes"],
    ["preview", "list", "--env", "demo"],
    ["preview", "extend", "pr-1", "--ttl", "2h", "--env", "demo"],
    ["preview", "down", "pr-1", "--env", "demo"],
    ["load", "ftp://example.invalid/"],
]

PROBE = """
import sys
from fargate_env.cli import main
sys.argv = ["fargate-env", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print("aws_cdk loaded" if "aws_cdk" in sys.modules else "aws_cdk not loaded", code)
"""


@pytest.mark.parametrize("args", AWS_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_aws_commands_do_not_import_the_cdk(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    last = result.stdout.strip().splitlines()[-1]
    assert last == "aws_cdk not loaded 2", (last, result.stderr)
