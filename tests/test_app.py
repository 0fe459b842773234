"""App wiring: cdk.json's feature flags reach the app, and the CDK CLI synthesizes the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fargate_env.app import build_app, cdk_json_context
from fargate_env.synth import read_assembly
from tests.conftest import ROOT, make_config

CDK_CLI = ROOT / "node_modules" / ".bin" / "cdk"


def resources_by_stack(outdir: Path) -> dict[str, dict[str, str]]:
    """{stack: {logical id: type}} without CDK's own metadata resource."""
    return {
        s.name: {k: r["Type"] for k, r in s.resources.items() if r["Type"] != "AWS::CDK::Metadata"}
        for s in read_assembly(outdir)
    }


def test_every_cdk_json_flag_reaches_the_app(tmp_path):
    flags = cdk_json_context()
    assert flags["@aws-cdk/core:defaultCrossStackReferences"] == "strong"
    built = build_app(make_config(), tmp_path, validation=False)
    for key, value in flags.items():
        assert built.app.node.try_get_context(key) == value, key


def test_stacks_carry_the_environment_tags(demo):
    vpc = next(
        r
        for r in demo.template_json("network")["Resources"].values()
        if r["Type"] == "AWS::EC2::VPC"
    )
    tags = {t["Key"]: t["Value"] for t in vpc["Properties"]["Tags"]}
    assert tags["environment"] == "demo" and tags["managed-by"] == "fargate-env"


def test_app_py_and_the_cdk_cli_synthesize_the_same_resources(tmp_path, demo):
    if not CDK_CLI.exists():
        pytest.skip("the pinned CDK CLI is not installed: run `npm ci` (make test does)")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CDK_VALIDATION": "false",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "FARGATE_ENV": "demo",
    }
    out = tmp_path / "cli.out"
    subprocess.run(
        [str(CDK_CLI), "synth", "--quiet", "--no-notices", "-o", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert resources_by_stack(out) == resources_by_stack(demo.outdir)


def test_python_app_py_writes_the_assembly_where_told(tmp_path):
    out = tmp_path / "py.out"
    env = {**os.environ, "CDK_VALIDATION": "false", "CDK_OUTDIR": str(out)}
    subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert "demo-network" in manifest["artifacts"]
    shutil.rmtree(out)
