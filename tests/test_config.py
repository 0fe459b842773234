"""The config model: defaults; a malformed file ends as one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.config import ConfigError, load_config, resolve_env_path
from tests.conftest import demo_text, make_config

runner = CliRunner()

# (name, TOML text appended to / replacing the demo file, words the error line must contain)
BAD_CASES = [
    ("bad-toml", "name = \n", ["invalid TOML"]),
    ("unknown-top-key", 'colour = "blue"\n', ["colour", "unknown key"]),
    ("unknown-nested-key", "[network.flow_logs]\nenable = true\n", ["network.flow_logs.enable"]),
    ("wrong-type", '[registry]\nkeep_tagged_images = "ten"\n', ["registry.keep_tagged_images"]),
    ("cidr-too-wide", '[network]\ncidr = "10.0.0.0/8"\n', ["network.cidr", "/16 and /24"]),
    ("cidr-too-narrow", '[network]\ncidr = "10.0.0.0/26"\n', ["network.cidr", "/16 and /24"]),
    ("cidr-garbage", '[network]\ncidr = "10.0.0/16"\n', ["network.cidr", "IPv4"]),
    ("cidr-host-bits", '[network]\ncidr = "10.0.0.1/16"\n', ["network.cidr"]),
    ("max-azs-low", "[network]\nmax_azs = 1\n", ["network.max_azs", "2"]),
    ("max-azs-high", "[network]\nmax_azs = 4\n", ["network.max_azs", "3"]),
    ("egress-unknown", '[network]\negress = "vpn"\n', ["network.egress", "nat-gateway"]),
    ("nat-type", '[network]\nnat_instance_type = "tiny"\n', ["network.nat_instance_type"]),
    ("account-short", 'account = "12345"\n', ["account", "12-digit"]),
    ("account-letters", 'account = "12345678901a"\n', ["account", "12-digit"]),
    ("pull-account", '[registry]\npull_accounts = ["123"]\n', ["registry.pull_accounts.0"]),
    ("keep-zero", "[registry]\nkeep_tagged_images = 0\n", ["registry.keep_tagged_images"]),
    ("expiry-zero", "[registry]\nuntagged_expiry_days = 0\n", ["registry.untagged_expiry_days"]),
    (
        "repo-name",
        '[services.web]\nrepository_name = "Bad Name"\n',
        ["services.web.repository_name", "ECR naming rules"],
    ),
    ("removal", '[registry]\nremoval_policy = "keep"\n', ["registry.removal_policy", "retain"]),
    ("region", 'region = "mars-1"\n', ["region", "us-east-1"]),
    ("env-name", 'name = "Demo_Env"\n', ["name"]),
    ("retention", "[network.flow_logs]\nretention_days = 10\n", ["retention_days", "14"]),
    (
        "azs-wrong-region",
        '[network]\navailability_zones = ["eu-west-1a", "eu-west-1b"]\n',
        ["availability_zones"],
    ),
]


def write_env(tmp_path: Path, name: str, extra: str) -> Path:
    """The demo file with `extra` appended (TOML allows re-opening a table only once, so the
    demo's own [network]/[registry] tables are dropped when `extra` redefines them)."""
    text = demo_text()
    for table in ("[network]", "[registry]", "[network.flow_logs]", "[services.web]"):
        if f"{table}\n" in extra:
            head, _, rest = text.partition(f"{table}\n")
            _, sep, tail = rest.partition("\n[")
            text = head + (sep.lstrip("\n") + tail if sep else "")
    for key in ("name", "region", "account"):
        if extra.startswith(f"{key} ="):
            text = "\n".join(ln for ln in text.splitlines() if not ln.startswith(f"{key} ="))
            return _write(tmp_path, name, extra + text)
    return _write(tmp_path, name, text + "\n" + extra)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_demo_and_dev_files_are_valid():
    for name in ("demo", "dev"):
        config = load_config(resolve_env_path(name))
        assert config.name == name
    demo = load_config(resolve_env_path("demo"))
    assert demo.account is None and "account" in demo.placeholders()
    assert demo.network.egress == "nat-gateway" and demo.network.max_azs == 2


def test_defaults_match_the_plan():
    config = make_config()
    web = config.services["web"]
    assert (web.cpu, web.memory) == (256, 512)
    assert (web.scaling.min_tasks, web.scaling.max_tasks) == (1, 4)
    assert config.registry.removal_policy == "retain"
    assert config.availability_zones == ["us-east-1a", "us-east-1b"]


@pytest.mark.parametrize(("name", "extra", "words"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path, name, extra, words):
    path = write_env(tmp_path, name, extra)
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "manifest.json").write_text("untouched")
    result = runner.invoke(app, ["synth", "--env-file", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output
    assert [p.read_text() for p in out.iterdir()] == ["untouched"]


def test_missing_file_names_the_path_and_the_fix(tmp_path):
    result = runner.invoke(app, ["synth", "--env", "no-such-env", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "environments/no-such-env.toml" in result.stderr and "--env-file" in result.stderr
    assert not (tmp_path / "o").exists()


def test_load_config_raises_config_error_not_validation_error(tmp_path):
    path = write_env(tmp_path, "x", 'account = "nope"\n')
    with pytest.raises(ConfigError, match=r"x\.toml: account: must be a 12-digit"):
        load_config(path)


def test_explicit_zones_seed_the_az_lookup_for_a_concrete_account(tmp_path):
    from fargate_env.app import build_app

    config = make_config(
        {
            "account": "123456789012",
            "region": "eu-west-1",
            "network": {"availability_zones": ["eu-west-1b", "eu-west-1c"]},
            "load_balancer": {"certificate_arn": None, "allow_http_only": True},
        }
    )
    built = build_app(config, tmp_path / "out", validation=False)
    assert built.network.vpc.availability_zones == ["eu-west-1b", "eu-west-1c"]
