"""synth: the assembly replaces --out only on success; an unusable --out is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fargate_env import synth as synth_module
from fargate_env.cli import app
from fargate_env.errors import UserError
from tests.conftest import make_config

runner = CliRunner()


def test_synth_command_prints_every_stack_and_replaces_the_old_assembly(tmp_path):
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "stale.template.json").write_text("{}")
    (out / "manifest.json").write_text("{}")
    result = runner.invoke(app, ["synth", "--out", str(out)])
    assert result.exit_code == 0, result.output
    parts = (
        "network",
        "registry",
        "platform",
        "alerts",
        "service-web",
        "service-api",
        "monitoring",
    )
    for part in parts:
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

    monkeypatch.setattr("fargate_env.app.build_app", broken)
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


# --- --out never deletes what we did not write ----------------------------------------------
DEMO = Path(__file__).resolve().parents[1] / "environments" / "demo.toml"


def _user_tree(root: Path) -> dict[Path, str]:
    """A working directory as a user has it: data, environment files, a git checkout."""
    files = {
        root / "mydata" / "notes.txt": "my notes",
        root / "environments" / "demo.toml": DEMO.read_text(),
        root / "environments" / "team.toml": "# mine",
        root / ".git" / "HEAD": "ref: refs/heads/main",
        root / "README.md": "mine",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


@pytest.mark.parametrize("command", ["synth", "check", "deploy"])
@pytest.mark.parametrize("out", ["mydata", "environments", ".", "{cwd}"])
def test_out_refuses_a_directory_that_is_not_an_assembly(tmp_path, monkeypatch, command, out):
    files = _user_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    target = out.format(cwd=tmp_path)
    result = runner.invoke(app, [command, "--env-file", str(DEMO), "--out", target])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not part of a cloud assembly" in lines[0], result.stderr
    for path, text in files.items():
        assert path.read_text() == text, f"{path} was touched"
    assert not list(tmp_path.glob(".synth-*"))


def test_a_foreign_file_appearing_during_synth_is_not_deleted(tmp_path):
    out = tmp_path / "cdk.out"
    with synth_module.StagedAssembly(out) as staged:
        (staged.path / "manifest.json").write_text("{}")
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        with pytest.raises(UserError):
            staged.commit()
    assert (out / "notes.txt").read_text() == "mine"


def test_an_assembly_or_empty_directory_is_replaced(tmp_path):
    for name, files in (("empty", []), ("old", ["manifest.json", "cdk.out", "x.template.json"])):
        out = tmp_path / name
        out.mkdir()
        for f in files:
            (out / f).write_text("{}")
        with synth_module.StagedAssembly(out) as staged:
            (staged.path / "manifest.json").write_text("new")
            staged.commit()
        assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
        assert (out / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "old"]


def _deployed_assembly(out: Path) -> None:
    """An assembly after the pinned CDK CLI deployed it and was killed: its `.cache/` (file
    asset packaging) and a reader lock `read.<pid>.<n>.lock` beside what synth wrote."""
    out.mkdir()
    for name in ("manifest.json", "cdk.out", "demo-network.template.json", "outputs.json"):
        (out / name).write_text("{}")
    (out / ".cache").mkdir()
    (out / ".cache" / "0123abcd.zip").write_bytes(b"PK")
    (out / "read.4242.1.lock").write_text("4242")


def test_the_cdk_clis_own_files_do_not_refuse_the_next_deploy(tmp_path):
    """Issue 19: every deploy after the first was refused because of `.cache`."""
    out = tmp_path / "cdk.out"
    _deployed_assembly(out)
    with synth_module.StagedAssembly(out) as staged:
        (staged.path / "manifest.json").write_text("new")
        staged.commit()
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


@pytest.mark.parametrize(
    "extra",
    [
        "a .cache file, not the CLI's directory",
        "a lock file not named like the CLI's",
        "a user's directory beside the CLI's",
    ],
)
def test_only_the_cdk_clis_own_names_are_accepted(tmp_path, extra):
    out = tmp_path / "cdk.out"
    _deployed_assembly(out)
    if extra.startswith("a .cache file"):
        (out / ".cache" / "0123abcd.zip").unlink()
        (out / ".cache").rmdir()
        (out / ".cache").write_text("mine")
    elif extra.startswith("a lock"):
        (out / "mine.lock").write_text("mine")
    else:
        (out / "photos").mkdir()
    with pytest.raises(UserError, match="not part of a cloud assembly"):
        synth_module.StagedAssembly(out)
    assert (out / "manifest.json").read_text() == "{}"


def test_a_cache_directory_alone_is_not_an_assembly(tmp_path):
    out = tmp_path / "mydata"
    out.mkdir()
    (out / ".cache").mkdir()
    (out / "read.1.1.lock").write_text("1")
    with pytest.raises(UserError, match="not part of a cloud assembly"):
        synth_module.StagedAssembly(out)
