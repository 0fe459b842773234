"""Bad `load_balancer` / `health_check` input: one line naming the field and what is allowed,
exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.config import parse_config
from tests.conftest import CLOUDFRONT_EDGE, demo_data, make_config, merge

runner = CliRunner()
GOOD_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000"


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Enough TOML for environment files: scalars and string lists first, then sub-tables."""
    lines: list[str] = []
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for key, value in data.items():
        if key in tables:
            continue
        text = str(value).lower() if isinstance(value, bool) else json.dumps(value)
        bare = (
            key.replace("-", "").replace("_", "").isascii()
            and key.replace("-", "").replace("_", "").isalnum()
        )
        lines.append(f"{key if bare else json.dumps(key)} = {text}")
    for key, value in tables.items():
        name = f"{prefix}{key}"
        lines.append(f"\n[{name}]\n{to_toml(value, name + '.')}")
    return "\n".join(lines) + "\n"


def run_bad(tmp_path: Path, overrides: dict[str, Any], *, replace: bool = False) -> str:
    """Synthesize demo + overrides (or, with `replace`, exactly `overrides`) from a file;
    assert the one-line exit-2 contract; return the line."""
    path = tmp_path / "env.toml"
    path.write_text(to_toml(overrides if replace else merge(demo_data(), overrides)))
    out = tmp_path / "cdk.out"
    result = runner.invoke(app, ["synth", "--env-file", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()
    return lines[0]


def test_toml_writer_round_trips_the_demo(tmp_path):
    from fargate_env.config import load_config

    path = tmp_path / "demo.toml"
    path.write_text(to_toml(demo_data()))
    assert load_config(path) == parse_config(demo_data(), "demo")


HC = "health_check"
LB = "load_balancer"
EU_ARN = GOOD_ARN.replace("us-east-1", "eu-west-1")
DNS_FIELDS = {
    "domain_name": "app.example.com",
    "hosted_zone_id": "Z0123456789ABC",
    "hosted_zone_name": "example.com",
}
# (id, overrides, words the line must hold: the field and the allowed range)
BAD = [
    ("interval-low", {HC: {"interval_seconds": 4}}, ["health_check.interval_seconds", "5 and 300"]),
    ("interval-high", {HC: {"interval_seconds": 301}}, ["interval_seconds", "5 and 300"]),
    ("timeout-low", {HC: {"timeout_seconds": 1}}, ["health_check.timeout_seconds", "2 and 120"]),
    (
        "timeout-high",
        {HC: {"timeout_seconds": 121, "interval_seconds": 300}},
        ["timeout_seconds", "2 and 120"],
    ),
    (
        "timeout-not-below-interval",
        {HC: {"timeout_seconds": 10, "interval_seconds": 10}},
        ["timeout_seconds", "must be below interval_seconds"],
    ),
    ("healthy-low", {HC: {"healthy_threshold": 1}}, ["health_check.healthy_threshold", "2 and 10"]),
    ("healthy-high", {HC: {"healthy_threshold": 11}}, ["healthy_threshold", "2 and 10"]),
    ("unhealthy-low", {HC: {"unhealthy_threshold": 1}}, ["unhealthy_threshold", "2 and 10"]),
    ("unhealthy-high", {HC: {"unhealthy_threshold": 11}}, ["unhealthy_threshold", "2 and 10"]),
    (
        "dereg-negative",
        {HC: {"deregistration_delay_seconds": -1}},
        ["deregistration_delay_seconds", "0 and 3600"],
    ),
    (
        "dereg-high",
        {HC: {"deregistration_delay_seconds": 3601}},
        ["deregistration_delay_seconds", "0 and 3600"],
    ),
    ("matcher-low", {HC: {"matcher": "199"}}, ["health_check.matcher", "200-499"]),
    ("matcher-high", {HC: {"matcher": "200-500"}}, ["health_check.matcher", "200-499"]),
    ("matcher-garbage", {HC: {"matcher": "ok"}}, ["health_check.matcher", "200-299"]),
    ("path-relative", {HC: {"path": "health"}}, ["health_check.path", "start with '/'"]),
    (
        "cert-arn-malformed",
        {LB: {"certificate_arn": "arn:aws:acm:us-east-1:123:certificate/x"}},
        ["load_balancer.certificate_arn", "arn:aws:acm:REGION:ACCOUNT:certificate/UUID"],
    ),
    (
        "cert-arn-wrong-service",
        {LB: {"certificate_arn": GOOD_ARN.replace(":acm:", ":iam:")}},
        ["load_balancer.certificate_arn"],
    ),
    (
        "domain-malformed",
        {
            LB: {
                "certificate_arn": None,
                "domain_name": "app..example.com",
                "hosted_zone_id": "Z0123456789ABC",
                "hosted_zone_name": "example.com",
            }
        },
        ["load_balancer.domain_name", "app.example.com"],
    ),
    (
        "domain-uppercase",
        {LB: {"domain_name": "App.Example.com"}},
        ["load_balancer.domain_name", "lowercase DNS name"],
    ),
    (
        "zone-id-malformed",
        {
            LB: {
                "certificate_arn": None,
                "domain_name": "app.example.com",
                "hosted_zone_id": "example.com",
                "hosted_zone_name": "example.com",
            }
        },
        ["load_balancer.hosted_zone_id", "Z0123456789ABC"],
    ),
    (
        "domain-outside-zone",
        {
            LB: {
                "certificate_arn": None,
                "domain_name": "app.example.org",
                "hosted_zone_id": "Z0123456789ABC",
                "hosted_zone_name": "example.com",
            }
        },
        ["load_balancer", "not inside hosted zone"],
    ),
    (
        "domain-without-zone",
        {LB: {"certificate_arn": None, "domain_name": "app.example.com"}},
        ["load_balancer", "domain_name, hosted_zone_id and hosted_zone_name"],
    ),
    (
        "no-certificate",
        {LB: {"certificate_arn": None}},
        ["load_balancer", "certificate_arn", "allow_http_only = true"],
    ),
    (
        "no-certificate-http-only-false",
        {LB: {"certificate_arn": None, "allow_http_only": False}},
        ["load_balancer", "allow_http_only = true"],
    ),
    (
        "ssl-policy-old",
        {LB: {"ssl_policy": "ELBSecurityPolicy-2016-08"}},
        ["load_balancer.ssl_policy", "ELBSecurityPolicy-TLS13-1-2-2021-06"],
    ),
    ("idle-timeout", {LB: {"idle_timeout_seconds": 0}}, ["idle_timeout_seconds", "1 and 4000"]),
    (
        "log-expiry",
        {LB: {"access_logs": {"expiry_days": 0}}},
        ["load_balancer.access_logs.expiry_days"],
    ),
    (
        "cloudfront-with-previews",
        {LB: {"edge": "cloudfront", "certificate_arn": None}},  # the demo's preview_domain stays
        ["load_balancer.preview_domain", 'edge = "cloudfront"', "remove preview_domain"],
    ),
    ("edge-unknown", {LB: {"edge": "nginx"}}, ["load_balancer.edge", "'alb' or 'cloudfront'"]),
    (
        "cloudfront-certificate-not-us-east-1",
        {LB: {**CLOUDFRONT_EDGE, "certificate_arn": EU_ARN, "domain_name": "a.example.com"}},
        ["load_balancer", "certificate_arn", "us-east-1 only", "eu-west-1"],
    ),
    (
        "cloudfront-certificate-without-domain",
        {LB: {**CLOUDFRONT_EDGE}},
        ["load_balancer", "certificate_arn", "needs domain_name"],
    ),
    (
        "cloudfront-http-only",
        {LB: {**CLOUDFRONT_EDGE, "certificate_arn": None, "allow_http_only": True}},
        ["load_balancer", "allow_http_only", "always serves HTTPS"],
    ),
    (
        "cloudfront-dns-validated-outside-us-east-1",
        {
            "region": "eu-west-1",
            LB: {**CLOUDFRONT_EDGE, "certificate_arn": None, **DNS_FIELDS},
        },
        ["load_balancer.domain_name", "us-east-1", "eu-west-1", "certificate_arn"],
    ),
    (
        "cloudfront-region-without-prefix-list",
        {"region": "ap-south-2", LB: {**CLOUDFRONT_EDGE, "certificate_arn": None}},
        ["load_balancer.cloudfront.origin_prefix_list_id", "ap-south-2"],
    ),
    (
        "cloudfront-bad-prefix-list-id",
        {
            LB: {
                **CLOUDFRONT_EDGE,
                "certificate_arn": None,
                "cloudfront": {"origin_prefix_list_id": "sg-123"},
            }
        },
        ["load_balancer.cloudfront.origin_prefix_list_id", "pl-3b927c52"],
    ),
    (
        "cloudfront-govcloud",
        {"region": "us-gov-west-1", LB: {**CLOUDFRONT_EDGE, "certificate_arn": None}},
        ["load_balancer.edge", "us-gov-west-1"],
    ),
    (
        "cloudfront-host-route-without-domain",
        {
            LB: {**CLOUDFRONT_EDGE, "certificate_arn": None},
            "services": {"api": {"routing": {"host_headers": ["api.example.com"]}}},
        },
        ["services.api.routing.host_headers", "domain_name", "route by path"],
    ),
    (
        "cloudfront-host-route-other-than-domain",
        {
            LB: {**CLOUDFRONT_EDGE, "certificate_arn": None, **DNS_FIELDS},
            "services": {"api": {"routing": {"host_headers": ["api.example.com"]}}},
        },
        ["services.api.routing.host_headers", "'api.example.com'", "app.example.com"],
    ),
]


def in_web(overrides: dict[str, Any]) -> dict[str, Any]:
    """The health check belongs to a service: move it into the demo's `web` service."""
    if HC not in overrides:
        return overrides
    rest = {k: v for k, v in overrides.items() if k != HC}
    return {**rest, "services": {"web": {HC: overrides[HC]}}}


BAD = [(case, in_web(overrides), words) for case, overrides, words in BAD]


@pytest.mark.parametrize(("case", "overrides", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_exit_2(tmp_path, case, overrides, words):
    line = run_bad(tmp_path, overrides)
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


EDGES = {
    "interval_seconds": 300,
    "timeout_seconds": 120,
    "healthy_threshold": 10,
    "unhealthy_threshold": 10,
    "deregistration_delay_seconds": 3600,
    "matcher": "200-499",
}


def test_edges_of_each_range_are_accepted():
    # A 3600-s drain cannot fit Fargate Spot's 120-s interruption notice: on-demand.
    config = make_config({"services": {"web": {HC: EDGES, "capacity": {"spot": False}}}})
    assert config.services["web"].health_check.deploy_overhead_seconds == 300 * 10 + 3600
    low = make_config(in_web({HC: {"interval_seconds": 5, "timeout_seconds": 2}}))
    assert low.services["web"].health_check.detection_seconds == 5 * 2


def test_http_only_needs_the_explicit_flag():
    config = make_config({LB: {"certificate_arn": None, "allow_http_only": True}})
    assert config.load_balancer.certificate_mode == "http-only"


def test_cloudfront_without_certificate_is_valid_and_needs_none():
    config = make_config({LB: {**CLOUDFRONT_EDGE, "certificate_arn": None}})
    assert config.load_balancer.certificate_mode == "cloudfront-default"
    assert config.alb_in_private_subnets
    assert config.origin_prefix_list_id == "pl-3b927c52"


def test_cloudfront_with_public_egress_is_valid():
    # The internal ALB gets isolated private subnets (tests/stacks/test_edge.py).
    config = make_config(
        {"network": {"egress": "public"}, LB: {**CLOUDFRONT_EDGE, "certificate_arn": None}}
    )
    assert config.network.egress == "public" and config.alb_in_private_subnets


def test_cloudfront_host_route_on_its_domain_is_valid():
    config = make_config(
        {
            LB: {**CLOUDFRONT_EDGE, "certificate_arn": None, **DNS_FIELDS},
            "services": {"api": {"routing": {"host_headers": ["*.example.com"]}}},
        }
    )
    assert config.services["api"].routing.host_headers == ["*.example.com"]
