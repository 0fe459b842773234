"""The plan, status and deploy --prune commands: exit codes, JSON shapes, one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fargate_env.cli import app
from tests.ops.conftest import API, WEB, build_world, real_config, write_env_file
from tests.ops.test_orphans import tagged_stack
from tests.ops.test_status import run_tag

cli = CliRunner()
NO_API = {"services": {API: None}}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """The filled-in demo's assembly (web and api), as a CI job keeps it from main."""
    from fargate_env.synth import synthesize

    outdir = tmp_path_factory.mktemp("main") / "cdk.out"
    synthesize(real_config(), outdir, validation=False)
    return outdir


def plan(*args: str):
    return cli.invoke(app, ["plan", *args])


def test_against_the_same_assembly_exits_0(no_credentials, tmp_path, baseline):
    env_file = write_env_file(tmp_path / "real.toml")
    out = str(tmp_path / "cdk.out")
    result = plan("--env-file", str(env_file), "--out", out, "--against", str(baseline))
    assert result.exit_code == 0, result.output
    assert "plan: 8 unchanged" in result.stdout


def test_against_offline_names_the_orphan_with_its_cost_exit_1(
    no_credentials, tmp_path, baseline
) -> None:
    env_file = write_env_file(tmp_path / "one.toml", NO_API)
    args = ["--env-file", str(env_file), "--out", str(tmp_path / "cdk.out")]
    result = plan(*args, "--against", str(baseline), "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"environment", "stacks", "export_in_use"}
    rows = {row["stack"]: row for row in data["stacks"]}
    orphan = rows["demo-service-api"]
    assert orphan["action"] == "delete" and orphan["monthly_usd"] > 1
    assert orphan["replaced"] == [
        {"resource": orphan["replaced"][0]["resource"], "type": "AWS::Logs::LogGroup",
         "loses": "log events"}
    ]  # fmt: skip
    assert rows["demo-service-web"]["action"] == "unchanged"
    assert rows["demo-monitoring"]["action"] == "update"
    assert set(rows["demo-registry"]) == {
        "stack", "action", "added", "removed", "modified", "replaced", "monthly_usd"
    }  # fmt: skip
    assert data["export_in_use"] == []
    table = plan(*args, "--against", str(baseline))
    assert table.exit_code == 1
    assert "orphan, $" in table.stdout and "deploy --prune" in table.stdout


def test_against_a_missing_assembly_is_one_line_exit_2(no_credentials, tmp_path):
    env_file = write_env_file(tmp_path / "real.toml")
    result = plan("--env-file", str(env_file), "--out", str(tmp_path / "o"), "--against",
                  str(tmp_path / "nowhere"))  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --against {tmp_path / 'nowhere'}: no manifest.json there; name a cloud"
        " assembly directory (the --out of an earlier synth)"
    ]


def test_plan_without_credentials_is_one_line_exit_2(no_credentials, tmp_path):
    env_file = write_env_file(tmp_path / "real.toml")
    result = plan("--env-file", str(env_file), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no AWS credentials found" in result.stderr


def test_plan_against_aws_names_orphans_from_tags(moto, tmp_path) -> None:
    tagged_stack("demo-service-api", {"Name": "demo-service-api:name"})
    env_file = write_env_file(tmp_path / "one.toml", NO_API)
    result = plan("--env-file", str(env_file), "--out", str(tmp_path / "o"), "--format", "json")
    assert result.exit_code == 1, result.output
    rows = {row["stack"]: row["action"] for row in json.loads(result.stdout)["stacks"]}
    assert rows["demo-service-api"] == "delete"
    assert rows["demo-service-web"] == "create"


def test_deploy_refuses_orphans_in_one_line_exit_2(moto, tmp_path) -> None:
    tagged_stack("demo-service-api", {"Name": "demo-service-api:name"})
    env_file = write_env_file(tmp_path / "one.toml", NO_API)
    from tests.ops.test_deploy import push

    push(real_config(NO_API), WEB, "initial")
    result = cli.invoke(app, ["deploy", "--env-file", str(env_file), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: 1 stack(s) of environment demo are no longer in the file:")
    assert "demo-service-api ($0.00/month)" in line and "--prune" in line
    assert "plan" in result.stdout  # the plan's summary came first


def test_status_json(moto, tmp_path) -> None:
    world = build_world(real_config(), "https://demo.example", skip=(API,))
    run_tag(world, WEB, "B")
    env_file = write_env_file(tmp_path / "real.toml")
    result = cli.invoke(app, ["status", "--env-file", str(env_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["service"], r["file_tag"], r["running_tag"]) for r in rows] == [
        (WEB, "initial", "B"),
        (API, "initial", None),
    ]
    assert rows[0]["desired"] == 2 and rows[0]["last_deployment"]["status"] == "PRIMARY"
    table = cli.invoke(app, ["status", "--env-file", str(env_file), "--service", WEB])
    assert table.exit_code == 0 and "B" in table.stdout and API not in table.stdout
