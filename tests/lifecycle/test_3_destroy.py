"""The end of an environment on moto's server (scenario 7): destroy of one whose file no
longer names a deployed service (its stack is an orphan), and of the quickstart, whose file
names no account (destroy takes it from the credentials)."""

from __future__ import annotations

import pytest

from tests.lifecycle.conftest import (
    DEMO_SERVICES,
    TIMES,
    stacks,
    write_env,
)

# The suite runs in one process, in file order, on one deployed environment (Makefile: a
# pytest run of its own).
pytestmark = pytest.mark.lifecycle


def test_7_destroy_deletes_an_orphaned_stack_and_names_the_repositories_that_stay(
    deployed, account, tmp_path
):
    """The file keeps `web` only: every other deployed service's stack is an orphan (tagged
    with the environment, no longer in the config). destroy deletes every stack; the report
    names each retained repository, the orphans' included."""
    emulator = deployed.emulator
    services = {n.removeprefix("demo-service-") for n in stacks(emulator)
                if n.startswith("demo-service-")}  # fmt: skip
    orphans = services - {"web"}
    assert orphans, services
    only_web = {name: None for name in (*DEMO_SERVICES, *orphans) if name != "web"}
    web_file = write_env(tmp_path / "demo.toml", account, {"services": only_web})
    destroyed = emulator.fargate_env("destroy", "--env-file", web_file, "--yes")
    assert destroyed.code == 0, destroyed.output
    TIMES["destroy"] = destroyed.seconds
    for orphan in orphans:
        assert f"deleted demo-service-{orphan}" in destroyed.stdout
    assert not {n for n in stacks(emulator) if n.startswith("demo-")}
    stays = destroyed.stdout[destroyed.stdout.index("stays behind") :]
    for service in services:
        assert f"demo/{service}" in stays
    repositories = {r["repositoryName"] for r in
                    emulator.client("ecr").describe_repositories()["repositories"]}  # fmt: skip
    assert {f"demo/{s}" for s in services} <= repositories, "retained repositories must stay"


def test_7_the_quickstart_destroys_with_the_credentials_account(bootstrapped, tmp_path):
    """Issue 19: destroy refused the quickstart ("still holds a demo placeholder"). Only its
    registry is deployed here: moto stops the quickstart's platform stack with a 500 (its
    outputs Fn::GetAtt the CloudFront distribution, a type moto skips; not corrected)."""
    emulator = bootstrapped
    registry = emulator.fargate_env("deploy", "--env", "quickstart", "--only", "registry",
                                    "--out", tmp_path / "cdk.out")  # fmt: skip
    assert registry.code == 0, registry.output
    assert stacks(emulator).get("quickstart-registry") == "CREATE_COMPLETE"
    destroyed = emulator.fargate_env("destroy", "--env", "quickstart", "--yes")
    assert destroyed.code == 0, destroyed.output
    assert "placeholder" not in destroyed.output
    assert "deleted quickstart-registry" in destroyed.stdout
    assert "quickstart/web" in destroyed.stdout  # the retained repository, named
    assert not {n for n in stacks(emulator) if n.startswith("quickstart-")}
