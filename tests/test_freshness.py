"""Reused assemblies: `cost` and `diagram` read ./cdk.out only while the config and the code
that made it are unchanged, so a stale bill or picture is never shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fargate_env import freshness
from fargate_env.assembly import assembly_region, read_environment
from fargate_env.cost.compare import current_bill
from fargate_env.cost.estimate import estimate
from fargate_env.freshness import RECORD_FILE, record, staleness
from fargate_env.synth import synthesize
from tests.conftest import make_config, web


def tamper(outdir: Path) -> None:
    """Drop the load balancer from the recorded assembly: a bill read from it is visibly off."""
    template = next(outdir.glob("*-platform.template.json"))
    data = json.loads(template.read_text())
    lb = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    data["Resources"] = {k: v for k, v in data["Resources"].items() if v["Type"] != lb}
    template.write_text(json.dumps(data))


@pytest.fixture
def code_copy(tmp_path, monkeypatch) -> Path:
    """The package's source, copied, standing in for the code that the hash covers."""
    copy = tmp_path / "code"
    shutil.copytree(freshness.CODE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(freshness, "CODE_ROOT", copy)
    return copy


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Work in tmp_path, where ./cdk.out is the assembly cost and diagram may reuse."""
    from fargate_env import synth as synth_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(synth_module, "DEFAULT_ASSEMBLY", Path("cdk.out"))
    return tmp_path


def test_a_changed_source_file_invalidates_a_reused_assembly(tmp_path, in_tmp, code_copy):
    config = make_config()
    # Absolute: the jsii node process keeps the directory the session started in.
    synthesize(config, tmp_path / "cdk.out", validation=False)
    truth = estimate(read_environment(Path("cdk.out")), assembly_region(Path("cdk.out")),
                     config.cost.usage).total  # fmt: skip
    assert staleness(Path("cdk.out"), config) is None
    tamper(Path("cdk.out"))
    said: list[str] = []
    reused = current_bill(config, say=said.append)
    assert said == ["reading cdk.out: synthesized from this config and code"]
    assert reused.total < truth, "the reused (tampered) assembly must be what was priced"

    module = code_copy / "stacks" / "platform.py"
    module.write_text(module.read_text() + "\n# an edit\n")
    said.clear()
    fresh = current_bill(config, say=said.append)
    assert said == ["synthesizing (the config or the code changed since cdk.out was synthesized)"]
    assert fresh.total == pytest.approx(truth)


def test_a_changed_config_invalidates_a_reused_assembly(in_tmp, demo):
    shutil.copytree(demo.outdir, "cdk.out")
    record(Path("cdk.out"), demo.config)
    tamper(Path("cdk.out"))
    assert staleness(Path("cdk.out"), demo.config) is None
    bigger = make_config(web(cpu=1024, memory=2048))
    assert staleness(Path("cdk.out"), bigger) == (
        "the config or the code changed since cdk.out was synthesized"
    )
    said: list[str] = []
    bill = current_bill(bigger, say=said.append)
    assert said[0].startswith("synthesizing (the config or the code changed")
    lb = [line for line in bill.lines if line.type.endswith("::LoadBalancer")]
    assert lb, "the fresh synthesis has the load balancer the tampered assembly lacks"


def test_an_assembly_without_a_record_or_of_another_environment_is_not_reused(tmp_path, demo):
    outdir = tmp_path / "cdk.out"
    assert staleness(outdir, demo.config) == f"no assembly at {outdir}"
    shutil.copytree(demo.outdir, outdir)
    assert staleness(outdir, demo.config) == f"{outdir} has no fingerprint"
    record(outdir, demo.config)
    data = json.loads((outdir / RECORD_FILE).read_text())
    (outdir / RECORD_FILE).write_text(json.dumps({**data, "environment": "other"}))
    assert staleness(outdir, demo.config) == f"{outdir} is of environment 'other'"


def test_the_fingerprint_covers_config_code_and_previews(code_copy):
    from fargate_env.preview_spec import new_preview, now_utc

    config = make_config()
    base = freshness.fingerprint(config)
    assert freshness.fingerprint(make_config()) == base
    assert freshness.fingerprint(make_config(web(log_retention_days=30))) != base
    probe = new_preview(config, "pr-1", service="web", image_tag=None, ttl=None, now=now_utc())
    assert freshness.fingerprint(config, [probe]) != base
    (code_copy / "new_module.py").write_text("")
    assert freshness.fingerprint(config) != base


def test_cost_probes_are_kept_in_a_fresh_assembly_and_never_outlive_it(in_tmp, demo, code_copy):
    import io

    from rich.console import Console

    from fargate_env.cost import run

    def bill_text() -> str:
        out = Console(file=io.StringIO(), width=80)
        run.run_cost(demo.config, out, out, as_json=False, compare=False)
        return out.file.getvalue()

    shutil.copytree(demo.outdir, "cdk.out")
    record(Path("cdk.out"), demo.config)
    first = bill_text()
    kept = json.loads(Path("cdk.out", RECORD_FILE).read_text())["derived"]
    assert set(kept) == {"marginal", "preview"}

    def no_synth(*args, **kwargs):
        raise AssertionError("a probe was synthesized again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run, "marginal_service", no_synth)
        patch.setattr(run, "preview_cost", no_synth)
        assert bill_text() == first
        (code_copy / "cost" / "marginal.py").write_text("# changed\n", encoding="utf-8")
        with pytest.raises(AssertionError, match="synthesized again"):
            bill_text()
