"""synth: the assembly replaces --out only on success; an unusable --out is one line, exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fargate_env import synth as synth_module
from fargate_env.cli import app
from tests.conftest import make_config

runner = CliRunner()


def test_synth_command_prints_every_stack_and_replaces_the_old_assembly(tmp_path):
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "stale.template.json").write_text("{}")
    result = runner.invoke(app, ["synth", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for part in ("network", "registry", "load-balancer", "service", "monitoring"):
        assert f"demo-{part}" in result.stdout
        assert (out / f"demo-{part}.template.json").is_file()
    assert not (out / "stale.template.json").exists()
    assert not list(tmp_path.glob(".synth-*")), "the staging directory must be cleaned up"


def test_a_failing_synth_leaves_the_old_assembly_untouched(tmp_path, monkeypatch):
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "manifest.json").write_text("old")

    def broken(*args, **kwargs):
        raise RuntimeError("synth blew up")

    monkeypatch.setattr(synth_module, "build_app", broken)
    with pytest.raises(RuntimeError):
        synth_module.synthesize(make_config(), out)
    assert (out / "manifest.json").read_text() == "old"
    assert not list(tmp_path.glob(".synth-*"))


@pytest.mark.parametrize("kind", ["under-a-file", "is-a-file"])
def test_unusable_out_is_one_line_exit_2(tmp_path, kind):
    afile = tmp_path / "afile"
    afile.write_text("keep")
    out = afile / "cdk.out" if kind == "under-a-file" else afile
    result = runner.invoke(app, ["synth", "--out", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--out {out}" in lines[0], result.stderr
    assert afile.read_text() == "keep"
