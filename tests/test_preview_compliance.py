"""`fargate-env check --preview NAME --service S`: the gates cover a preview stack too."""

from __future__ import annotations

from typer.testing import CliRunner

from fargate_env.cli import app

runner = CliRunner()


def test_check_with_a_preview_synthesized_has_no_findings(tmp_path):
    out = tmp_path / "cdk.out"
    result = runner.invoke(
        app, ["check", "--env", "demo", "--preview", "pr-1", "--service", "api", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "0 " in result.output and "fail" not in result.output
    template = (out / "demo-preview-pr-1.template.json").read_text()
    assert "AWS::Scheduler::Schedule" in template and "AWS::Lambda::Function" not in template
