"""`fargate-env cost`: table, JSON, exit 1 over budget, one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fargate_env.cli import app
from tests.conftest import demo_text

runner = CliRunner()


def env_file(tmp_path: Path, old: str, new: str) -> Path:
    text = demo_text()
    assert old in text
    path = tmp_path / "env.toml"
    path.write_text(text.replace(old, new))
    return path


def test_json_bill_shape_and_under_budget_exit_0(tmp_path):
    path = env_file(tmp_path, "monthly_budget_usd = 90", "monthly_budget_usd = 1000")
    result = runner.invoke(app, ["cost", "--env-file", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["region"] == "us-east-1"
    assert set(data["lines"][0]) == {
        "stack",
        "resource",
        "type",
        "monthly_usd",
        "basis",
        "service",
    }
    assert data["total_monthly_usd"] == round(sum(x["monthly_usd"] for x in data["lines"]), 2)
    assert data["assumptions"]["nat_processed_gb_month"] == 5.0
    assert data["monthly_budget_usd"] == 1000


def test_over_budget_exits_1_with_one_line(tmp_path):
    path = env_file(tmp_path, "monthly_budget_usd = 90", "monthly_budget_usd = 10")
    result = runner.invoke(app, ["cost", "--env-file", str(path)])
    assert result.exit_code == 1
    assert "over budget" in result.stderr
    assert "cost.monthly_budget_usd = $10.00" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "total" in result.stdout  # the bill is still shown


def test_table_shows_assumptions_and_floor():
    result = runner.invoke(app, ["cost", "--env", "demo"])
    assert result.exit_code == 0, result.output
    assert "floor (ALB hours + its public IPv4, or + CloudFront): $23.73" in result.stdout
    assert "nat_processed_gb_month=5.0" in result.stdout


def test_bad_format_is_exit_2():
    result = runner.invoke(app, ["cost", "--format", "yaml"])
    assert result.exit_code == 2
    assert "--format 'yaml'" in result.stderr
    assert "Traceback" not in result.output


def test_region_without_prices_is_exit_2(tmp_path):
    path = env_file(tmp_path, 'region = "us-east-1"', 'region = "ap-south-2"')
    # The ALB's certificate must be of its region.
    path.write_text(path.read_text().replace(":us-east-1:", ":ap-south-2:"))
    result = runner.invoke(app, ["cost", "--env-file", str(path)])
    assert result.exit_code == 2
    assert "no price table for region 'ap-south-2'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_budget_is_exit_2(tmp_path):
    path = env_file(tmp_path, "monthly_budget_usd = 90", "monthly_budget_usd = -5")
    result = runner.invoke(app, ["cost", "--env-file", str(path)])
    assert result.exit_code == 2
    assert "cost.monthly_budget_usd" in result.stderr


def test_compare_prints_plan_floor_and_goal():
    result = runner.invoke(app, ["cost", "--compare", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["compare"]
    totals = [p["total_monthly_usd"] for p in data["profiles"]]
    assert totals == sorted(totals)
    assert sum(p["plan_design"] for p in data["profiles"]) == 1
    assert any(p["essentials"] for p in data["profiles"])
    # The demo's job keeps its own schedule: its office-hours profiles are priced, not skipped.
    assert {"always on", "office hours"} <= {p["profile"].split(", ")[3] for p in data["profiles"]}
    assert not [label for label in data["skipped"] if "office hours" in label]
    # The 1.25 x floor goal is for one service (tests/cost/test_estimate.py); the demo has four.
