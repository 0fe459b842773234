"""PlatformStack: ALB, listeners per certificate mode (no-match 404), access logs, outputs;
and each service's target group (in the service's stack)."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from fargate_env import outputs
from fargate_env.assembly import Environment, Stack, read_environment
from fargate_env.config import TLS_POLICIES
from fargate_env.summary import load_balancer_notes, render_summary, target_group_speed

LB = "platform"
SVC = "service:web"
ALB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"

# DNS-validated certificate, with every tunable moved off its default to prove it is read.
DNS = {
    "load_balancer": {
        "certificate_arn": None,
        "domain_name": "app.example.com",
        "hosted_zone_id": "Z0123456789ABC",
        "hosted_zone_name": "example.com",
        "ssl_policy": "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "idle_timeout_seconds": 120,
        "deletion_protection": True,
        "access_logs": {"expiry_days": 7, "removal_policy": "destroy"},
    },
    "services": {
        "web": {
            "container_port": 9000,
            "health_check": {
                "path": "/healthz",
                "interval_seconds": 15,
                "timeout_seconds": 4,
                "healthy_threshold": 3,
                "unhealthy_threshold": 4,
                "matcher": "200-299",
                "deregistration_delay_seconds": 5,
            },
        }
    },
}
HTTP_ONLY = {"load_balancer": {"certificate_arn": None, "allow_http_only": True}}
MODES = {"imported": None, "dns-validated": DNS, "http-only": HTTP_ONLY}


@pytest.fixture(params=list(MODES), scope="module")
def mode(request, synth):
    return synth(MODES[request.param])


def resources(synthesized, kind: str) -> list[dict]:
    tpl = synthesized.template_json(SVC if kind == TARGET_GROUP else LB)
    return [r for r in tpl["Resources"].values() if r["Type"] == kind]


def the(synthesized, kind: str) -> dict:
    found = resources(synthesized, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def logical_id(synthesized, kind: str) -> str:
    tpl = synthesized.template_json(LB)
    (found,) = [k for k, r in tpl["Resources"].items() if r["Type"] == kind]
    return found


def attributes(resource: dict, key: str = "LoadBalancerAttributes") -> dict:
    return {a["Key"]: a["Value"] for a in resource["Properties"][key]}


def listeners_by_port(synthesized) -> dict[int, dict]:
    return {r["Properties"]["Port"]: r["Properties"] for r in resources(synthesized, LISTENER)}


# --- ALB and its security group -------------------------------------------------------------


def test_config_modes_are_what_the_tests_think(synth):
    assert synth().config.load_balancer.certificate_mode == "imported"
    assert synth(DNS).config.load_balancer.certificate_mode == "dns-validated"
    assert synth(HTTP_ONLY).config.load_balancer.certificate_mode == "http-only"


def test_alb_is_internet_facing_in_both_public_subnets(mode):
    props = the(mode, ALB_TYPE)["Properties"]
    assert props["Scheme"] == "internet-facing"
    subnets = [s["Fn::ImportValue"] for s in props["Subnets"]]
    assert len(subnets) == 2
    assert all("publicSubnet" in s for s in subnets), subnets


def test_alb_attributes_from_config(synth):
    demo = attributes(the(synth(), ALB_TYPE))
    assert demo["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert demo["idle_timeout.timeout_seconds"] == "60"
    assert demo["deletion_protection.enabled"] == "false"  # non-prod default
    tuned = attributes(the(synth(DNS), ALB_TYPE))
    assert tuned["idle_timeout.timeout_seconds"] == "120"
    assert tuned["deletion_protection.enabled"] == "true"


def ingress_ports(synthesized) -> list[tuple[str, int, int]]:
    sg = the(synthesized, "AWS::EC2::SecurityGroup")["Properties"]
    return sorted((r["CidrIp"], r["FromPort"], r["ToPort"]) for r in sg["SecurityGroupIngress"])


def test_security_group_admits_only_80_and_443(synth):
    assert ingress_ports(synth()) == [("0.0.0.0/0", 80, 80), ("0.0.0.0/0", 443, 443)]
    assert ingress_ports(synth(DNS)) == [("0.0.0.0/0", 80, 80), ("0.0.0.0/0", 443, 443)]
    # Nothing listens on 443 without a certificate, so it stays closed.
    assert ingress_ports(synth(HTTP_ONLY)) == [("0.0.0.0/0", 80, 80)]


def test_no_ingress_rule_resources_beyond_the_group(mode):
    # Listeners are created with open=False: no extra 0.0.0.0/0 rules sneak in.
    assert resources(mode, "AWS::EC2::SecurityGroupIngress") == []


# --- listeners and certificates -------------------------------------------------------------


@pytest.mark.parametrize("overrides", [None, DNS], ids=["imported", "dns-validated"])
def test_https_listener_with_tls13_policy_and_http_redirect(synth, overrides):
    synthesized = synth(overrides)
    by_port = listeners_by_port(synthesized)
    assert set(by_port) == {80, 443}
    https = by_port[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == synthesized.config.load_balancer.ssl_policy
    assert https["SslPolicy"] in TLS_POLICIES and "TLS13" in https["SslPolicy"]
    assert https["DefaultActions"][0]["Type"] == "fixed-response"
    assert by_port[80]["Protocol"] == "HTTP"
    assert by_port[80]["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
    ]


def test_imported_certificate_is_the_configured_arn(demo):
    https = listeners_by_port(demo)[443]
    assert https["Certificates"] == [{"CertificateArn": demo.config.load_balancer.certificate_arn}]
    assert resources(demo, "AWS::CertificateManager::Certificate") == []
    assert resources(demo, "AWS::Route53::RecordSet") == []


def test_dns_validated_certificate_and_alias_record(synth):
    dns = synth(DNS)
    cert = the(dns, "AWS::CertificateManager::Certificate")["Properties"]
    assert cert["DomainName"] == "app.example.com"
    assert cert["ValidationMethod"] == "DNS"
    assert cert["DomainValidationOptions"] == [
        {"DomainName": "app.example.com", "HostedZoneId": "Z0123456789ABC"}
    ]
    https = listeners_by_port(dns)[443]
    assert list(https["Certificates"][0]["CertificateArn"]) == ["Ref"]
    record = the(dns, "AWS::Route53::RecordSet")["Properties"]
    assert record["Type"] == "A"
    assert record["Name"] == "app.example.com."
    assert record["HostedZoneId"] == "Z0123456789ABC"
    alias = record["AliasTarget"]
    alb_id = logical_id(dns, ALB_TYPE)
    assert alb_id in json.dumps(alias["DNSName"]) and "DNSName" in json.dumps(alias["DNSName"])
    assert alias["HostedZoneId"] == {"Fn::GetAtt": [alb_id, "CanonicalHostedZoneID"]}


def test_dns_mode_needs_no_lookup(synth):
    manifest = json.loads((synth(DNS).outdir / "manifest.json").read_text())
    assert not manifest.get("missing"), manifest.get("missing")


def test_http_only_serves_on_80_without_certificate(synth):
    http_only = synth(HTTP_ONLY)
    by_port = listeners_by_port(http_only)
    assert set(by_port) == {80}
    assert by_port[80]["Protocol"] == "HTTP"
    assert by_port[80]["DefaultActions"][0]["Type"] == "fixed-response"
    assert "Certificates" not in by_port[80]
    assert resources(http_only, "AWS::CertificateManager::Certificate") == []


def test_listener_attribute_and_output_are_the_serving_listener(synth):
    """The services' rules attach to it; without a match it answers a fixed 404."""
    for overrides, port in ((None, 443), (HTTP_ONLY, 80)):
        synthesized = synth(overrides)
        assert synthesized.built.platform.listener.node.default_child.port == port
        tpl = synthesized.template_json(LB)
        ref = tpl["Outputs"][outputs.LISTENER_ARN]["Value"]["Ref"]
        assert tpl["Resources"][ref]["Properties"]["Port"] == port
        (action,) = tpl["Resources"][ref]["Properties"]["DefaultActions"]
        assert action["Type"] == "fixed-response"
        assert action["FixedResponseConfig"]["StatusCode"] == "404"


# --- target group ---------------------------------------------------------------------------


def test_target_group_defaults_are_fast(demo):
    props = the(demo, TARGET_GROUP)["Properties"]
    assert props["TargetType"] == "ip"
    assert props["Protocol"] == "HTTP"
    assert props["Port"] == 8080
    assert props["HealthCheckPath"] == "/health"
    assert props["HealthCheckIntervalSeconds"] == 10
    assert props["HealthCheckTimeoutSeconds"] == 5
    assert props["HealthyThresholdCount"] == 2
    assert props["UnhealthyThresholdCount"] == 2
    assert props["Matcher"] == {"HttpCode": "200"}
    delay = int(
        attributes(the(demo, TARGET_GROUP), "TargetGroupAttributes")[
            "deregistration_delay.timeout_seconds"
        ]
    )
    assert delay <= 15


def test_target_group_reads_every_number_from_config(synth):
    tuned = the(synth(DNS), TARGET_GROUP)
    props = tuned["Properties"]
    assert (props["Port"], props["HealthCheckPath"]) == (9000, "/healthz")
    assert props["HealthCheckIntervalSeconds"] == 15
    assert props["HealthCheckTimeoutSeconds"] == 4
    assert props["HealthyThresholdCount"] == 3
    assert props["UnhealthyThresholdCount"] == 4
    assert props["Matcher"] == {"HttpCode": "200-299"}
    attrs = attributes(tuned, "TargetGroupAttributes")
    assert attrs["deregistration_delay.timeout_seconds"] == "5"


# --- speed figures and the HTTP-only warning in the synth summary ---------------------------


def test_demo_speed_figures_meet_the_budget(demo):
    detection, overhead = target_group_speed(read_environment(demo.outdir))
    assert (detection, overhead) == (20, 30)
    assert detection <= 20 and overhead <= 35


def test_speed_figures_are_read_from_the_template_not_the_config(demo):
    stacks = read_environment(demo.outdir)
    edited = []
    for stack in stacks:
        template = json.loads((demo.outdir / f"{stack.name}.template.json").read_text())
        for res in template["Resources"].values():
            if res["Type"] == TARGET_GROUP:
                res["Properties"]["HealthCheckIntervalSeconds"] = 30
                res["Properties"]["TargetGroupAttributes"] = []  # AWS default: 300 s
        edited.append(Stack.from_template(stack.name, template))
    assert target_group_speed(Environment(edited)) == (60, 360)
    assert target_group_speed(stacks) == (20, 30)


def test_summary_prints_speed_figures(demo, tmp_path):
    console = Console(record=True, width=200)
    render_summary(console, demo.config, read_environment(demo.outdir), tmp_path)
    text = console.export_text()
    assert "unhealthy target detected in 20 s" in text
    assert "rolling-deploy overhead 30 s" in text
    assert "unencrypted" not in text


def test_http_only_summary_warns(synth):
    notes = load_balancer_notes(read_environment(synth(HTTP_ONLY).outdir))
    assert any("unencrypted" in n for n in notes)
    assert not any(
        "unencrypted" in n for n in load_balancer_notes(read_environment(synth(DNS).outdir))
    )


# --- access logs ----------------------------------------------------------------------------


def test_access_log_bucket(mode):
    bucket = the(mode, "AWS::S3::Bucket")
    props = bucket["Properties"]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    expiry = mode.config.load_balancer.access_logs.expiry_days
    assert [r["ExpirationInDays"] for r in props["LifecycleConfiguration"]["Rules"]] == [expiry]
    expected = (
        "Retain" if mode.config.load_balancer.access_logs.removal_policy == "retain" else ("Delete")
    )
    assert bucket["DeletionPolicy"] == expected


def test_access_log_defaults(synth):
    assert synth().config.load_balancer.access_logs.expiry_days == 30
    assert the(synth(), "AWS::S3::Bucket")["DeletionPolicy"] == "Retain"
    assert the(synth(DNS), "AWS::S3::Bucket")["DeletionPolicy"] == "Delete"


def test_access_log_bucket_is_tls_only_and_writable_by_elb(demo):
    statements = the(demo, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny[0]["Action"] == "s3:*"
    writes = [s for s in statements if s["Effect"] == "Allow"]
    # The regional ELB account writes objects; the log-delivery service reads the ACL.
    assert {s["Action"] for s in writes} == {"s3:PutObject", "s3:GetBucketAcl"}
    elb = [s for s in writes if s["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}]
    assert [s["Action"] for s in elb] == ["s3:PutObject"]


def test_alb_writes_access_logs_to_the_bucket(mode):
    attrs = attributes(the(mode, ALB_TYPE))
    assert attrs["access_logs.s3.enabled"] == "true"
    assert list(attrs["access_logs.s3.bucket"]) == ["Ref"]


# --- outputs --------------------------------------------------------------------------------


def test_outputs(synth):
    for overrides, url in (
        (None, "https://"),
        (DNS, "https://app.example.com"),
        (HTTP_ONLY, "http://"),
    ):
        outs = synth(overrides).template_json(LB)["Outputs"]
        assert {
            outputs.LOAD_BALANCER_DNS,
            outputs.BASE_URL,
            outputs.LISTENER_ARN,
            outputs.CLUSTER_NAME,
        } <= set(outs)
        assert outs[outputs.LOAD_BALANCER_DNS]["Value"]["Fn::GetAtt"][1] == "DNSName"
        assert json.dumps(outs[outputs.BASE_URL]["Value"]).find(url) >= 0
        svc_outs = synth(overrides).template_json(SVC)["Outputs"]
        assert list(svc_outs[outputs.TARGET_GROUP_ARN]["Value"]) == ["Ref"]
