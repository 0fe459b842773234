"""Issue #14, hardening: every user-controlled input ends as one line and exit 2 (class 1),
well-typed but impossible or contradictory config is refused before synth naming the field and
the AWS limit (class 2), and the main commands fit an 80-column terminal (class 3)."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fargate_env.config.limits import partition
from tests.conftest import ROOT, demo_data, merge
from tests.test_config_load_balancer import GOOD_ARN, run_bad, to_toml

CLI = Path(sys.executable).parent / "fargate-env"
LAST_YEAR = datetime.datetime.now(datetime.UTC).year - 1
MARKUP = "a[/red]b [bold]c :secret:"


def web(**section: Any) -> dict[str, Any]:
    return {"services": {"web": section}}


def real(**extra: Any) -> dict[str, Any]:
    """The demo in a concrete account with a certificate of that account."""
    return merge(
        demo_data(),
        {
            "account": "123456789012",
            # The demo's preview zone id is a placeholder too.
            "load_balancer": {"certificate_arn": GOOD_ARN, "preview_hosted_zone_id": "Z0123ABC"},
            **extra,
        },
    )


# --- class 1: one line, exit 2, no traceback, through the console script and app.py ---------

# (id, config overrides or None, extra args, env vars, words the line must hold)
CLASS_1 = [
    (
        "nat-instance-type",
        {"network": {"egress": "nat-instance", "nat_instance_type": "t9.galactic"}},
        [],
        {},
        ["network.nat_instance_type", "t9.galactic"],
    ),
    ("tag-value-300", {"tags": {"project": "x" * 300}}, [], {}, ["tags", "at most 256"]),
    ("tag-markup-literal", {"tags": {"project": MARKUP}}, [], {}, ["tags", "project"]),
    ("tag-key-markup-literal", {"tags": {MARKUP: "x"}}, [], {}, [MARKUP]),
    ("name-markup-literal", {"name": "[bold]x:secret:"}, [], {}, ["name", "'[bold]x:secret:'"]),
    ("region-markup-literal", {"region": "[/red]"}, [], {}, ["region", "'[/red]'"]),
    ("columns-garbage", {"tags": {"project": MARKUP}}, [], {"COLUMNS": "abc"}, ["tags"]),
    ("columns-tiny", {"name": "[/red]"}, [], {"COLUMNS": "5"}, ["'[/red]'"]),
    ("out-unwritable", None, ["--out", "/proc/fargate-env-test"], {}, ["--out", "cannot write"]),
    ("env-file-directory", None, ["--env-file", "/etc"], {}, ["/etc", "cannot read"]),
    ("env-markup-literal", None, ["--env", MARKUP], {}, ["--env", MARKUP]),
]


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "80", **extra}


def _one_line(result: subprocess.CompletedProcess, words: list[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


@pytest.mark.parametrize(
    ("case", "overrides", "args", "env", "words"), CLASS_1, ids=[c[0] for c in CLASS_1]
)
def test_user_input_ends_as_one_line(tmp_path, case, overrides, args, env, words):
    command = [str(CLI), "synth"]
    if overrides is not None:
        path = tmp_path / "env.toml"
        path.write_text(to_toml(merge(demo_data(), overrides)))
        command += ["--env-file", str(path)]
    out = tmp_path / "cdk.out"
    if "--out" not in args:
        command += ["--out", str(out)]
    result = subprocess.run(
        command + args, capture_output=True, text=True, timeout=120, env=_env(env), cwd=ROOT
    )
    _one_line(result, words)
    assert not out.exists()
    assert "🤫" not in result.stderr  # ":secret:" stays text, never an emoji


# (id, command, env vars, words)
CLASS_1_COMMANDS = [
    ("load-bad-ipv6", ["load", "http://[::1"], {}, ["URL must look like"]),
    ("load-bad-port", ["load", "http://a[/red]b:99999/"], {}, ["URL", "[/red]"]),
    ("diagram-unwritable", ["diagram", "--out", "/proc/x/arch.png"], {}, ["--out", "cannot write"]),
    ("cost-format-markup", ["cost", "--format", "[/red]"], {}, ["--format", "'[/red]'"]),
    (
        "aws-profile-unknown",
        ["verify", "--env-file", "{real}"],
        {"AWS_PROFILE": "no-such-profile"},
        ["AWS_PROFILE", "no-such-profile"],
    ),
]


@pytest.mark.parametrize(
    ("case", "args", "env", "words"), CLASS_1_COMMANDS, ids=[c[0] for c in CLASS_1_COMMANDS]
)
def test_command_input_ends_as_one_line(tmp_path, case, args, env, words):
    real_env = tmp_path / "real.toml"
    real_env.write_text(to_toml(real()))
    args = [a.replace("{real}", str(real_env)) for a in args]
    result = subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=120, env=_env(env), cwd=ROOT
    )
    _one_line(result, words)


# (id, env vars for app.py, words)
APP_PY = [
    ("fargate-env-path", {"FARGATE_ENV": "../etc/passwd"}, ["FARGATE_ENV", "environments/"]),
    (
        "fargate-env-missing",
        {"FARGATE_ENV": "no-such-env"},
        ["no-such-env.toml", "no such environment file"],
    ),
    ("fargate-env-file-dir", {"FARGATE_ENV_FILE": "/etc"}, ["/etc", "cannot read"]),
    ("fargate-env-file-bad", {"FARGATE_ENV_FILE": "{bad}"}, ["tags", "at most 256"]),
    ("cdk-outdir-file", {"CDK_OUTDIR": "/etc/hostname"}, ["CDK_OUTDIR", "is a file"]),
    (
        "cdk-outdir-unwritable",
        {"CDK_OUTDIR": "/proc/fargate-env-test"},
        ["CDK_OUTDIR", "cannot write"],
    ),
]


@pytest.mark.parametrize(("case", "env", "words"), APP_PY, ids=[c[0] for c in APP_PY])
def test_app_py_input_ends_as_one_line(tmp_path, case, env, words):
    bad = tmp_path / "bad.toml"
    bad.write_text(to_toml(merge(demo_data(), {"tags": {"project": "x" * 300}})))
    env = {k: v.replace("{bad}", str(bad)) for k, v in env.items()}
    result = subprocess.run(
        [sys.executable, "app.py"], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**_env(env), "CDK_VALIDATION": "false"},
    )  # fmt: skip
    _one_line(result, words)


def test_a_cdk_refusal_at_synth_is_one_line_naming_the_first_violation(tmp_path):
    """The last resort: CDK's validation report becomes 'synthesis failed: ...'."""
    from fargate_env.errors import UserError
    from fargate_env.synth import synth_app

    report = tmp_path / "validation-report.json"

    class Refusing:
        def synth(self) -> None:
            report.write_text(
                '{"pluginReports": [{"violations": [{"description": "InstanceType: \'t9.x\' is'
                ' not valid", "violatingConstructs": [{"constructPath": "demo-network/Nat"}]}]}]}'
            )
            print("ERROR dozens of report lines", file=sys.stderr)
            raise RuntimeError("ValidationFailed: Validation failed. A copy of this report ...")

    with pytest.raises(
        UserError,
        match=r"^synthesis failed: InstanceType: 't9.x' is not valid \(demo-network/Nat\)$",
    ):
        synth_app(Refusing(), tmp_path)  # type: ignore[arg-type]


def test_any_other_jsii_error_is_one_line(tmp_path, monkeypatch):
    from jsii.errors import JavaScriptError
    from typer.testing import CliRunner

    from fargate_env.cli import app

    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError(
            "Error: something CDK did not like\n    at node frames"
        ) from JavaScriptError("stack")

    # synth imports the app (and the CDK) only when it synthesizes: patch it where it lives.
    monkeypatch.setattr("fargate_env.app.build_app", explode)
    out = tmp_path / "cdk.out"
    result = CliRunner().invoke(app, ["synth", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "error: synthesis failed: Error: something CDK did not like"
    assert not out.exists()


# --- class 2: well-typed but wrong, refused before synth naming the field(s) ---------------

SCHEDULE = "schedule"
# (id, overrides of the demo (or a full config with real=True), words the line must hold)
CLASS_2: list[tuple[str, dict[str, Any], list[str]]] = [
    # schedules that can never fire, or contradict
    (
        "cron-31-february",
        web(schedule={"start": "cron(0 7 31 2 ? *)"}),
        ["schedule.start", "never fires", "31", "Feb"],
    ),
    (
        "cron-30-feb-named",
        web(schedule={"stop": "cron(0 20 30 FEB ? *)"}),
        ["schedule.stop", "never fires"],
    ),
    (
        "cron-31-in-30-day-months",
        web(schedule={"start": "cron(0 7 31 APR,JUN ? *)"}),
        ["never fires", "Apr, Jun"],
    ),
    (
        "cron-past-year",
        web(schedule={"start": f"cron(0 7 ? * MON-FRI {LAST_YEAR})"}),
        ["schedule.start", "never fires", "before"],
    ),
    (
        "cron-past-year-range",
        web(schedule={"start": f"cron(0 7 ? * MON-FRI 2001-{LAST_YEAR})"}),
        ["never fires"],
    ),
    (
        "cron-minute-range",
        web(schedule={"stop": "cron(0-75 20 ? * MON-FRI *)"}),
        ["schedule.stop", "minute 75", "0-59"],
    ),
    ("cron-month-13", web(schedule={"stop": "cron(0 20 1 13 ? *)"}), ["month 13", "1-12"]),
    ("cron-day-32", web(schedule={"stop": "cron(0 20 32 * ? *)"}), ["day-of-month 32", "1-31"]),
    (
        "start-equals-stop",
        web(schedule={"start": "cron(0 7 ? * MON-FRI *)", "stop": "cron(0 7 ? * MON-FRI *)"}),
        ["schedule", "start and stop are the same"],
    ),
    # regions and ARNs
    ("region-not-real", {"region": "us-east-9"}, ["region", "us-east-9"]),
    ("region-shape-only", {"region": "xx-west-1"}, ["region", "AWS region"]),
    (
        "cert-other-region",
        {"load_balancer": {"certificate_arn": GOOD_ARN.replace("us-east-1", "eu-west-1")}},
        ["load_balancer.certificate_arn", "eu-west-1", "us-east-1"],
    ),
    (
        "cert-no-real-region",
        {"load_balancer": {"certificate_arn": GOOD_ARN.replace("us-east-1", "moon-base-1")}},
        ["load_balancer.certificate_arn", "'moon-base-1'", "not an AWS region"],
    ),
    (
        "cert-other-partition",
        {"load_balancer": {"certificate_arn": GOOD_ARN.replace("arn:aws:", "arn:aws-cn:")}},
        ["load_balancer.certificate_arn", "partition 'aws-cn'"],
    ),
    (
        "cert-other-account",
        {"account": "210987654321", "load_balancer": {"certificate_arn": GOOD_ARN}},
        ["load_balancer.certificate_arn", "123456789012", "210987654321"],
    ),
    (
        "domain-beside-cert",
        {"load_balancer": {"domain_name": "app.example.com"}},
        ["load_balancer", "domain_name", "ignored"],
    ),
    (
        "secret-no-real-region",
        web(secrets={"DB_PASSWORD": "arn:aws:secretsmanager:mars-1:123456789012:secret:db"}),
        ["services.web.secrets.DB_PASSWORD", "'mars-1'"],
    ),
    (
        "kms-no-real-region",
        web(
            secret_kms_keys=[
                "arn:aws:kms:us-east-7:123456789012:key/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12
            ]
        ),
        ["services.web.secret_kms_keys", "'us-east-7'"],
    ),
    # network
    (
        "az-other-region",
        {"network": {"availability_zones": ["us-west-2a", "us-west-2b"]}},
        ["network.availability_zones", "us-east-1"],
    ),
    (
        "az-not-a-zone",
        {"network": {"availability_zones": ["us-east-1a", "us-east-1-b"]}},
        ["network.availability_zones"],
    ),
    (
        "az-twice",
        {"network": {"availability_zones": ["us-east-1a", "us-east-1a"]}},
        ["network.availability_zones"],
    ),
    (
        "nat-family-unknown",
        {"network": {"nat_instance_type": "t9.nano"}},
        ["network.nat_instance_type", "'t9.nano'", "t4g"],
    ),
    (
        "nat-size-unknown",
        {"network": {"nat_instance_type": "t3.huge"}},
        ["network.nat_instance_type", "t3 comes in", "nano"],
    ),
    (
        "nat-size-of-other-family",
        {"network": {"nat_instance_type": "m5.nano"}},
        ["'m5.nano'", "m5 comes in", "large"],
    ),
    # tags
    (
        "tag-value-too-long",
        {"tags": {"project": "x" * 257}},
        ["tags", "project", "at most 256", "257"],
    ),
    ("tag-key-too-long", {"tags": {"k" * 129: "x"}}, ["tags", "1-128"]),
    ("tag-key-aws-prefix", {"tags": {"AWS:owner": "me"}}, ["tags", "aws: prefix is reserved"]),
    ("tag-value-bad-chars", {"tags": {"project": "a;b"}}, ["tags", "project", "_ . : / = + - @"]),
    ("tag-too-many", {"tags": {f"k{i}": "v" for i in range(49)}}, ["tags", "at most 50"]),
    # services
    (
        "on-demand-base-above-max",
        web(capacity={"on_demand_base": 5}, scaling={"max_tasks": 4}),
        ["services.web", "capacity.on_demand_base (5)", "scaling.max_tasks (4)"],
    ),
    (
        "privileged-port-non-root",
        web(container_port=80),
        ["services.web", "container_port 80", "'10001'", "1024"],
    ),
    (
        "health-path-query",
        web(health_check={"path": "/health?full=1"}),
        ["services.web.health_check.path", "query"],
    ),
    (
        "health-path-fragment",
        web(health_check={"path": "/health#x"}),
        ["services.web.health_check.path"],
    ),
    (
        "spot-drain-over-notice",
        web(stop_timeout_seconds=60, health_check={"deregistration_delay_seconds": 90}),
        ["services.web", "= 150 s", "120-s interruption notice"],
    ),
    # monitoring and cost
    (
        "forecast-below-actual",
        {"monitoring": {"budget_actual_percent": 90, "budget_forecast_percent": 50}},
        ["monitoring", "budget_forecast_percent (50)", "budget_actual_percent (90)"],
    ),
    (
        "email-twice-case",
        {"monitoring": {"emails": ["ops@example.com", "Ops@Example.com"]}},
        ["monitoring.emails", "more than once"],
    ),
    (
        "stored-logs-with-retention",
        {"cost": {"usage": {"log_stored_gb": 5.0}}},
        ["cost.usage.log_stored_gb", "never expire", "ignored"],
    ),
]


@pytest.mark.parametrize(("case", "overrides", "words"), CLASS_2, ids=[c[0] for c in CLASS_2])
def test_wrong_config_is_refused_before_synth(tmp_path, case, overrides, words):
    line = run_bad(tmp_path, overrides)
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


# (id, overrides that must still load)
ACCEPTED = [
    ("cron-29-february", web(schedule={"start": "cron(0 7 29 2 ? *)"})),
    ("cron-this-year-on", web(schedule={"start": f"cron(0 7 ? * MON-FRI {LAST_YEAR}-2199)"})),
    ("root-on-port-80", web(container_port=80, container_user="0")),
    (
        "on-demand-drain",
        web(
            capacity={"spot": False},
            stop_timeout_seconds=120,
            health_check={"deregistration_delay_seconds": 600},
        ),
    ),
    ("tag-unicode", {"tags": {"Kostenstelle": "Zürich 42 / team@x"}}),
    ("tag-overrides-cost-tag", {"tags": {"environment": "qa-shared"}}),
    ("graviton-nat", {"network": {"egress": "nat-instance", "nat_instance_type": "c7g.medium"}}),
    (
        "forecast-equals-actual",
        {"monitoring": {"budget_actual_percent": 90, "budget_forecast_percent": 90}},
    ),
    (
        "govcloud",
        {
            "region": "us-gov-west-1",
            "load_balancer": {
                "certificate_arn": GOOD_ARN.replace(
                    "aws:acm:us-east-1", "aws-us-gov:acm:us-gov-west-1"
                )
            },
        },
    ),
]


@pytest.mark.parametrize(("case", "overrides"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_the_edges_stay_accepted(case, overrides):
    from tests.conftest import make_config

    make_config(overrides)


def test_partition_of_each_region_kind():
    assert [partition(r) for r in ("eu-west-1", "us-gov-east-1", "cn-north-1")] == [
        "aws",
        "aws-us-gov",
        "aws-cn",
    ]


# --- class 3: 80 columns ---------------------------------------------------------------------

LONG = merge(
    demo_data(),
    {
        "name": "abcdefghij-klmnopqrs",
        "tags": {"environment": "abcdefghij-klmnopqrs"},
        # The imported certificate's names (not readable offline) must cover the host route.
        "load_balancer": {"certificate_names": ["*.internal.example.com"]},
        "services": {
            "a-very-long-service-name": {
                "routing": {
                    "path_patterns": ["/reports/monthly/*", "/short"],
                    "host_headers": ["reports.internal.example.com"],
                }
            }
        },
    },
)


@pytest.mark.parametrize(
    ("case", "command", "long_config"),
    [
        ("synth", ["synth"], False),
        ("synth-long-names", ["synth"], True),
        ("cost", ["cost"], False),
        ("cost-long-names", ["cost"], True),
        ("diagram", ["diagram"], False),
        ("check", ["check"], False),
        ("usage-error", ["synth", "--bogus"], False),
    ],
)
def test_output_fits_80_columns(tmp_path, case, command, long_config):
    path = tmp_path / "env.toml"
    path.write_text(to_toml(LONG if long_config else demo_data()))
    args = [*command, "--env-file", str(path)] if "--bogus" not in command else command
    if command[0] in ("synth", "check") and "--bogus" not in command:
        args += ["--out", str(tmp_path / "cdk.out")]
    if command[0] == "diagram":
        args += ["--out", str(tmp_path / "arch.svg")]
    result = subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=600, env=_env({}), cwd=ROOT
    )
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    wide = [ln for ln in result.stdout.splitlines() if len(ln) > 80]
    assert not wide, "\n".join(wide)
    if long_config and command[0] == "synth":
        # User values are shown whole: never cut with an ellipsis, never broken mid-word.
        text = result.stdout
        for value in (
            "a-very-long-service-name",
            "/reports/monthly/*",
            "reports.internal.example.com",
        ):
            assert value in text, value
        assert "…" not in text
