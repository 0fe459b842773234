"""The order of the gates in `check`: one synthesis, cfn-lint over every template it wrote
(while cdk-nag and CDK's validation still run), nothing linted when nothing was written."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import constructs
import jsii
import pytest

from fargate_env import compliance
from tests.conftest import make_config


def test_check_synthesizes_once_and_lints_every_template_it_wrote(tmp_path, monkeypatch):
    builds, synths, linted = [], [], []
    real_build, real_lint = compliance.build_app, compliance.lint_templates

    def build(config, outdir, **kwargs):
        built = real_build(config, outdir, **kwargs)
        builds.append(kwargs)
        real_synth = built.app.synth

        def synth(*args, **kw):
            synths.append(Path(outdir))
            return real_synth(*args, **kw)

        monkeypatch.setattr(built.app, "synth", synth)
        return built

    def lint(outdir):
        linted.append(sorted(p.name for p in Path(outdir).glob("*.template.json")))
        return real_lint(outdir)

    monkeypatch.setattr(compliance, "build_app", build)
    monkeypatch.setattr(compliance, "lint_templates", lint)
    out = tmp_path / "cdk.out"
    report = compliance.run_checks(make_config(), out)
    assert report.findings == []
    assert len(builds) == 1 and len(synths) == 1 and builds[0]["validation"] is True
    # cfn-lint ran once, over every stack the manifest names (all of them written by then).
    manifest = json.loads((out / "manifest.json").read_text())
    stacks = sorted(
        a["properties"]["templateFile"]
        for a in manifest["artifacts"].values()
        if a["type"] == "aws:cloudformation:stack"
    )
    assert linted == [stacks] and len(stacks) >= 7


@jsii.implements(constructs.IValidation)
class Broken:
    def validate(self) -> list[str]:
        return ["deliberately broken"]


def test_a_synthesis_that_fails_early_lints_nothing_and_leaves_nothing(tmp_path, monkeypatch):
    real_build = compliance.build_app
    linted = []

    def build_broken(config, outdir, **kwargs):
        built = real_build(config, outdir, **kwargs)
        # A construct-tree error: synthesis stops before any template is written.
        cdk.Stack(built.app, "demo-broken").node.add_validation(Broken())
        return built

    monkeypatch.setattr(compliance, "build_app", build_broken)
    monkeypatch.setattr(compliance, "lint_templates", lambda outdir: linted.append(outdir))
    out = tmp_path / "cdk.out"
    with pytest.raises(RuntimeError, match="deliberately broken"):
        compliance.run_checks(make_config(), out)
    assert linted == [] and not out.exists()


def test_one_cfn_lint_run_names_each_finding_by_its_own_template(tmp_path):
    good = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    bad = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Nope": 1}}}}
    (tmp_path / "a-good.template.json").write_text(json.dumps(good))
    (tmp_path / "b-bad.template.json").write_text(json.dumps(bad))
    (tmp_path / "c-bad.template.json").write_text(json.dumps(bad))
    findings = compliance.lint_templates(tmp_path)
    assert [f.split(":")[0] for f in findings] == [
        "E3002 b-bad.template.json",
        "E3002 c-bad.template.json",
    ]
    assert compliance.lint_templates(tmp_path / "empty") == []
