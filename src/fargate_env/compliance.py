"""Policy gates: cdk-nag AwsSolutions on every stack, cfn-lint on every template.

Every waiver lives in WAIVERS below, with the reason it is acceptable for this environment.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
import cdk_nag

from fargate_env.app import build_app
from fargate_env.config import EnvironmentConfig
from fargate_env.freshness import record
from fargate_env.preview_spec import Preview
from fargate_env.synth import StagedAssembly

NAG_PLUGIN = "AwsSolutions"
CDK_VALIDATE_PLUGIN = "CloudFormation Validate"


@dataclass(frozen=True)
class Waiver:
    """An acknowledged cdk-nag rule on the constructs whose path matches `paths` (fnmatch)."""

    rule: str
    reason: str
    paths: tuple[str, ...]
    # Waive only when this holds for the environment (e.g. a feature is switched off).
    when: Callable[[EnvironmentConfig], bool] = lambda _config: True


WAIVERS: tuple[Waiver, ...] = (
    Waiver(
        "AwsSolutions-VPC7",
        "VPC flow logs are switched off in this environment's config (network.flow_logs);"
        " the default keeps them on.",
        ("*-network/Vpc",),
        when=lambda c: not c.network.flow_logs.enabled,
    ),
    Waiver(
        "AwsSolutions-IAM4",
        "CDK's own custom resource that strips the default security group runs as a Lambda with"
        " the AWS-managed basic execution role (logs only); CDK offers no way to change it.",
        ("*-network/Custom::VpcRestrictDefaultSGCustomResourceProvider*",),
    ),
    Waiver(
        "AwsSolutions-EC28",
        "Basic 5-minute monitoring is enough for a non-production NAT instance; detailed"
        " monitoring would cost about as much as the t4g.nano itself.",
        ("*-network/Vpc/*/NatInstance",),
        when=lambda c: c.network.egress == "nat-instance",
    ),
    Waiver(
        "AwsSolutions-EC29",
        "The NAT instance is disposable: CloudFormation replaces it on change, and termination"
        " protection would only block tearing a non-production environment down.",
        ("*-network/Vpc/*/NatInstance",),
        when=lambda c: c.network.egress == "nat-instance",
    ),
    Waiver(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
        "The NAT instance is patched through Systems Manager (Session Manager, Patch Manager) at"
        " no extra cost; AWS maintains AmazonSSMManagedInstanceCore as exactly the SSM agent's"
        " permissions, so a hand-copied policy would only drift from it. Waived for this one"
        " policy on the NAT instance's role only.",
        ("*-network/Vpc/*/NatInstance/InstanceRole",),
        when=lambda c: c.network.egress == "nat-instance",
    ),
    Waiver(
        "AwsSolutions-EC23",
        "The internet-facing load balancer must accept 0.0.0.0/0 and ::/0, on ports 80 and 443"
        " only (80 only redirects to HTTPS); tasks admit nothing but the ALB's security group.",
        ("*-platform/SecurityGroup",),
        when=lambda c: not c.load_balancer.is_cloudfront,
    ),
    Waiver(
        "AwsSolutions-CFR4",
        "Without a domain of its own the distribution serves HTTPS on its *.cloudfront.net name"
        " with CloudFront's default certificate, whose minimum protocol cannot be raised"
        " (CloudFront keeps TLSv1 there for old clients); every modern client still negotiates"
        " TLS 1.2/1.3. Set load_balancer.domain_name (+ a us-east-1 certificate) to get"
        " TLSv1.2_2021, and this waiver no longer applies.",
        ("*-platform/Distribution/Resource",),
        when=lambda c: c.load_balancer.certificate_mode == "cloudfront-default",
    ),
    Waiver(
        "AwsSolutions-CFR3",
        "Caching is disabled, so every request CloudFront serves reaches the ALB, whose access"
        " logs (S3, 30-day expiry) record it; CloudFront's own standard logs would need a second,"
        " ACL-enabled bucket for the same requests. What they alone would show (the viewer's"
        " address, requests answered at the edge such as the HTTP->HTTPS redirect) is not worth"
        " it for a non-production environment.",
        ("*-platform/Distribution/Resource",),
        when=lambda c: c.load_balancer.is_cloudfront,
    ),
    Waiver(
        "AwsSolutions-CFR2",
        "No AWS WAF web ACL: one costs $5/month plus $1 per rule and $0.60 per million requests,"
        " more than a fifth of this environment's whole bill; CloudFront's included Shield"
        " Standard absorbs network-layer floods and the ALB is reachable only through it.",
        ("*-platform/Distribution/Resource",),
        when=lambda c: c.load_balancer.is_cloudfront,
    ),
    Waiver(
        "AwsSolutions-CFR1",
        "No geo restriction: the team using this non-production environment may work from"
        " anywhere, and the data it serves is not bound to a country.",
        ("*-platform/Distribution/Resource",),
        when=lambda c: c.load_balancer.is_cloudfront,
    ),
    Waiver(
        "AwsSolutions-S1",
        "This bucket is the ALB access-log destination; logging its own access would need yet"
        " another bucket for a non-production log sink that only ELB log delivery writes to.",
        ("*-platform/AccessLogs",),
    ),
    Waiver(
        "AwsSolutions-ECS4",
        "Container Insights is switched off in this environment's config"
        " (cluster.container_insights) to save its custom-metric cost, which the cost model"
        " prices when it is on; service-level CPU/memory metrics still feed alarms and scaling.",
        ("*-platform/Cluster",),
        when=lambda c: not c.cluster.container_insights,
    ),
    Waiver(
        "AwsSolutions-ECS2",
        "The container's plain environment variables are non-secret settings (PORT, HEALTH_PATH,"
        " LOG_LEVEL, ...); every secret is injected by ECS from Secrets Manager or SSM.",
        (
            "*-service-*/*/Default/TaskDefinition",
            "*-preview-*/Web/Default/TaskDefinition",
        ),
    ),
    Waiver(
        "AwsSolutions-IAM5[Resource::*]",
        "The execution role's only '*' resource is ecr:GetAuthorizationToken, which has no"
        " resource-level permissions; every other statement names its repository, log group or"
        " secret (tests/stacks/test_service.py asserts the exact statements).",
        (
            "*-service-*/*/Default/TaskDefinition/ExecutionRole/DefaultPolicy",
            "*-preview-*/Web/Default/TaskDefinition/ExecutionRole/DefaultPolicy",
        ),
    ),
    Waiver(
        "AwsSolutions-IAM5[Resource::*]",
        "The role ECS assumes to shift a blue-green/canary/linear deployment's traffic reads"
        " listeners, rules, target groups and target health: the four ELB Describe actions"
        " take no resource-level permissions (Service Authorization Reference, ELB v2), as in"
        " AmazonECSInfrastructureRolePolicyForLoadBalancers. Every write names this service's"
        " two target groups and two listener rules (tests/stacks/test_deploy.py).",
        ("*-service-*/Web/DeployRole/DefaultPolicy",),
        when=lambda c: any(s.deployment.shifts_traffic for s in c.services.values()),
    ),
    Waiver(
        "AwsSolutions-IAM5[Resource::*]",
        "With ECS Exec on, the task role needs the four ssmmessages:*Channel actions, which have"
        " no resource-level permissions (ECS Exec documentation).",
        (
            "*-service-*/*/Default/TaskDefinition/TaskRole/DefaultPolicy",
            "*-preview-*/Web/Default/TaskDefinition/TaskRole/DefaultPolicy",
        ),
        when=lambda c: any(s.enable_exec for s in c.services.values()),
    ),
    Waiver(
        "AwsSolutions-IAM5[Resource::*]",
        "A scheduled job's state machine waits for its task (runTask.sync): ecs:DescribeTasks"
        " and ecs:StopTask (to stop a run at its timeout) name tasks that do not exist yet, and"
        " CloudWatch Logs' vended log delivery (logs:*LogDelivery, DescribeLogGroups,"
        " DescribeResourcePolicies, PutResourcePolicy) takes no resource-level permissions."
        " ecs:RunTask names the job's task definition, iam:PassRole its two roles, and the"
        " events actions Step Functions' own ECS rule (tests/stacks/test_kinds.py).",
        ("*-service-*/Job/StateMachine/Role/DefaultPolicy",),
        when=lambda c: any(s.kind == "job" for s in c.services.values()),
    ),
    Waiver(
        "AwsSolutions-SF2",
        "No X-Ray tracing: a job's state machine has one Task state that waits for one ECS"
        " task, so a trace would show a single span; the execution history, the state log"
        " (level ALL) and the task's own log group already say what each run did.",
        ("*-service-*/Job/StateMachine",),
        when=lambda c: any(s.kind == "job" for s in c.services.values()),
    ),
)

# cfn-lint checks that do not apply to CDK output, each with its reason.
CFN_LINT_IGNORED = {
    "W3010": "AZ names are written literally on purpose: synthesis must need no AZ lookup",
    "W3005": "CDK's generated custom-resource providers add a redundant DependsOn; harmless",
    "W6001": "a job's stack re-exposes the network's task subnets as its TaskSubnets output on"
    " purpose: run-job reads everything RunTask needs from the job's own stack",
}


@dataclass
class CheckReport:
    gates: dict[str, list[str]] = field(default_factory=dict)
    waiver_count: int = 0

    @property
    def findings(self) -> list[str]:
        return [f"{gate}: {finding}" for gate, items in self.gates.items() for finding in items]


def waivers_for(config: EnvironmentConfig, rule_prefix: str = "") -> list[Waiver]:
    """The waivers that apply to `config` (by `when` only; paths are matched at check time)."""
    return [w for w in WAIVERS if w.when(config) and w.rule.startswith(rule_prefix)]


def apply_compliance(app: cdk.App, stacks: Iterable[cdk.Stack], config: EnvironmentConfig) -> int:
    """Register cdk-nag on the app and acknowledge the waivers that apply; returns their count."""
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    constructs = [c for stack in stacks for c in stack.node.find_all()]
    applied = 0
    for waiver in WAIVERS:
        if not waiver.when(config):
            continue
        matched = [
            c
            for c in constructs
            if any(fnmatch.fnmatchcase(c.node.path, pattern) for pattern in waiver.paths)
        ]
        for construct in matched:
            cdk.Validations.of(construct).acknowledge(
                cdk.Acknowledgment(id=f"{NAG_PLUGIN}::{waiver.rule}", reason=waiver.reason)
            )
        applied += bool(matched)
    return applied


def nag_findings(report: dict) -> list[str]:
    """Unacknowledged violations of a CDK validation report (cdk-nag and CDK's own validator)."""
    findings = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            if violation.get("severity") not in ("error", "fatal"):
                continue
            for construct in violation.get("violatingConstructs", []):
                findings.append(
                    f"{violation['ruleName']} at {construct['constructPath']}:"
                    f" {violation['description']}"
                )
    return findings


def lint_templates(outdir: Path) -> list[str]:
    """cfn-lint over every template of a cloud assembly; returns one line per match.

    One run over all templates, like `cfn-lint a.json b.json`: cfn-lint loads its rules once
    per run, and that load was half of its time when each template had a run of its own."""
    from cfnlint.api import ManualArgs, lint_by_config  # imported in the linting thread

    templates = sorted(Path(outdir).glob("*.template.json"))
    if not templates:
        return []
    args = ManualArgs(ignore_checks=list(CFN_LINT_IGNORED), templates=[str(t) for t in templates])
    return [
        f"{match.rule.id} {Path(match.filename).name}:{match.linenumber}: {match.message}"
        for match in lint_by_config(args)
    ]


@contextlib.contextmanager
def _jsii_stderr_captured() -> Iterator[None]:
    """Hold back the validation report jsii's node process echoes to stderr: the gate prints
    the same findings itself, one line each."""
    saved = sys.stderr
    sys.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        yield
    finally:
        sys.stderr = saved


def _written(outdir: Path) -> bool:
    """Whether CDK has finished writing the assembly: manifest.json is written (and parses)
    after every template, and before the validation plugins run over them."""
    try:
        json.loads((outdir / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return True


def _lint_once_written(outdir: Path, synth_done: threading.Event) -> list[str]:
    """cfn-lint the templates as soon as they are written: while jsii's node process runs
    cdk-nag and CDK's validation over them (seconds of CPU), this thread lints on the other
    core (the main thread only waits on node's pipe, so the GIL is free). If the synthesis
    ends without an assembly, there is nothing to lint."""
    import cfnlint.api  # noqa: F401  (a second of imports, done while the app is built)

    while not _written(outdir):
        if synth_done.is_set():
            if not _written(outdir):
                return []
            break
        time.sleep(0.05)
    return lint_templates(outdir)


def run_checks(
    config: EnvironmentConfig, outdir: Path, previews: Sequence[Preview] = ()
) -> CheckReport:
    """Synthesize once, with CDK validation and cdk-nag on, and cfn-lint the templates it
    writes while the validators still run.

    The assembly replaces `outdir` only when every gate passes, so a failing check never
    leaves a non-compliant cdk.out behind for a deploy to pick up.
    """
    report = CheckReport()
    synth_done = threading.Event()
    with StagedAssembly(outdir) as staged, ThreadPoolExecutor(1, "cfn-lint") as pool:
        linted: Future[list[str]] = pool.submit(_lint_once_written, staged.path, synth_done)
        try:
            built = build_app(config, staged.path, validation=True, previews=previews)
            report.waiver_count = apply_compliance(built.app, built.stacks, config)
            try:
                with _jsii_stderr_captured():
                    built.app.synth()
                report.gates["cdk-nag + CDK validation"] = []
            except RuntimeError as exc:
                report_file = staged.path / "validation-report.json"
                if "ValidationFailed" not in str(exc) or not report_file.exists():
                    raise
                report.gates["cdk-nag + CDK validation"] = nag_findings(
                    json.loads(report_file.read_text())
                )
        finally:
            synth_done.set()
        report.gates["cfn-lint"] = linted.result()
        if not report.findings:
            record(staged.path, config, previews)
            staged.commit()
    return report
