"""quickstart.toml on moto: no account in the file, so every AWS command takes the
credentials' account (STS) in one step; verify reads the distribution's https:// BaseUrl."""

from __future__ import annotations

from typer.testing import CliRunner

from fargate_env import outputs
from fargate_env.cli import app
from fargate_env.cli.options import environment_aws
from fargate_env.config import load_config
from fargate_env.ops.aws import Aws, account_from_credentials
from fargate_env.ops.verify import Deployed, Platform
from tests.conftest import ROOT, demo_text
from tests.ops.conftest import ACCOUNT, create_stack
from tests.ops.test_deploy import Recorder, npx, targets

QUICKSTART = ROOT / "environments" / "quickstart.toml"
cli = CliRunner()


def test_quickstart_names_no_account_and_nothing_else_to_fill_in() -> None:
    config = load_config(QUICKSTART)
    assert config.account is None
    assert config.placeholders() == ["account"]
    assert account_from_credentials(config)


def test_the_account_comes_from_sts(moto) -> None:
    aws = environment_aws("quickstart", None, every=True)
    assert aws.config.account == ACCOUNT  # moto's caller identity
    assert aws.config.placeholders() == []
    assert aws.check_credentials().endswith(":user/moto")


def test_deploy_synthesizes_for_the_credentials_account(moto, tmp_path, cdk_bin) -> None:
    from fargate_env.ops.deploy import run_deploy

    aws = Aws.for_environment(load_config(QUICKSTART)).with_credentials_account()
    runner = Recorder()
    rc = run_deploy(aws, image_tag=None, outdir=tmp_path / "cdk.out", only="registry",
                    runner=runner, which=npx, cdk_bin=cdk_bin, validation=False)  # fmt: skip
    assert rc == 0
    ((cmd, _),) = runner.calls
    assert targets(cmd) == ["quickstart-registry", "--exclusively"]
    manifest = (tmp_path / "cdk.out" / "manifest.json").read_text()
    assert f"aws://{ACCOUNT}/us-east-1" in manifest


def test_cli_prints_the_account_it_took(moto) -> None:
    # verify reaches CloudFormation only after the account step: the stack is missing.
    result = cli.invoke(app, ["verify", "--env", "quickstart"])
    assert result.exit_code == 2
    assert f"account {ACCOUNT}: from the credentials (quickstart names none)" in result.stdout
    assert "stack quickstart-platform not found" in result.output


def test_other_placeholders_are_still_refused_before_any_call(aws_credentials) -> None:
    demo = load_config(ROOT / "environments" / "demo.toml")
    # The demo also holds a placeholder certificate and preview zone.
    assert not account_from_credentials(demo)
    result = cli.invoke(app, ["deploy", "--env", "demo"])
    assert result.exit_code == 2 and "demo placeholder in account (and 2 more)" in result.output


def test_verify_uses_the_distributions_https_url(moto) -> None:
    aws = Aws.for_environment(load_config(QUICKSTART)).with_credentials_account()
    create_stack("quickstart-platform", {
        outputs.CLUSTER_NAME: "c", outputs.BASE_URL: "https://d111111abcdef8.cloudfront.net",
    })  # fmt: skip
    create_stack("quickstart-service-web", {
        outputs.SERVICE_NAME: "s", outputs.TARGET_GROUP_ARN: "arn:tg",
    })  # fmt: skip
    deployed = Deployed.read(aws, None, Platform.read(aws))
    assert deployed.url == "https://d111111abcdef8.cloudfront.net"


def test_destroy_takes_the_account_from_the_credentials_too(moto) -> None:
    # It refused the quickstart ("demo placeholder in account"): it can be created, so it can
    # be deleted.
    result = cli.invoke(app, ["destroy", "--env", "quickstart", "--yes"])
    assert result.exit_code == 0, result.output
    assert f"account {ACCOUNT}: from the credentials" in result.stdout
    assert "nothing of quickstart is deployed in us-east-1" in result.stdout


def test_preview_commands_take_the_account_from_the_credentials(moto, tmp_path) -> None:
    # The demo with previews, its placeholder certificate and zone made real: no account left.
    text = demo_text()
    env_file = tmp_path / "noaccount.toml"
    env_file.write_text(
        text.replace("000000000000", ACCOUNT).replace("Z00000000000000000000", "Z0123456789ABC")
    )
    assert load_config(env_file).placeholders() == ["account"]
    result = cli.invoke(app, ["preview", "list", "--env-file", str(env_file)])
    assert result.exit_code == 0, result.output
    assert f"account {ACCOUNT}: from the credentials" in result.stdout
    assert "no previews in" in result.stdout
