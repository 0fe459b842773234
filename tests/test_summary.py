"""The synth summary's resource line: named types in order, plurals, and the rest as other."""

from __future__ import annotations

import re
from collections import Counter

from fargate_env.assembly import read_environment
from fargate_env.summary import describe_counts


def test_counts_are_named_pluralized_and_the_rest_is_other():
    counts = Counter(
        {"AWS::EC2::Subnet": 4, "AWS::EC2::VPC": 1, "AWS::EC2::Route": 3, "AWS::Foo::Bar": 2}
    )
    assert describe_counts(counts) == "1 VPC, 4 subnets, 5 other"


def test_every_resource_of_the_demo_is_accounted_for(demo):
    for stack in read_environment(demo.outdir):
        line = describe_counts(stack.resource_counts)
        numbers = [int(part.split()[0]) for part in line.split(", ")]
        assert sum(numbers) == sum(stack.resource_counts.values()), (stack.name, line)


OVERLAP = {
    "load_balancer": {"certificate_names": ["*.example.com"]},
    "services": {"admin": {"routing": {"host_headers": ["admin.example.com"], "priority": 100}}},
}


def test_rules_are_listed_in_evaluation_order_and_overlaps_are_named(synth):
    from rich.console import Console

    from fargate_env.summary import routes_table, summary_notes

    synthesized = synth(OVERLAP)
    stacks = read_environment(synthesized.outdir)
    console = Console(width=80, record=True)
    console.print(routes_table(stacks))
    lines = console.export_text().splitlines()
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("─")) + 1 :]
    # A rule's first line starts with its priority (in the first column), then its service.
    listed = [m.groups() for line in body if (m := re.match(r"^\s{0,5}(\d+)\s+(\S+)", line))]
    assert listed == [("100", "admin"), ("49417", "api"), ("50000", "web")]
    notes = summary_notes(synthesized.config, stacks)
    assert (
        "overlap: admin (rule 100: admin.example.com) is tried before api (rule 49417: /api"
        " /api/*) for a request both match"
    ) in notes


def test_each_kind_gets_its_line_and_only_web_services_have_rules(synth):
    from rich.console import Console

    from fargate_env.summary import kind_notes, routes_table
    from tests.kinds import BACKEND, JOB, KINDS, QUEUE, WORKER

    synthesized = synth(KINDS)
    stacks = read_environment(synthesized.outdir)
    notes = kind_notes(synthesized.config, stacks)
    assert notes == [
        f"backend {BACKEND}: reached at http://{BACKEND}:8080 inside the environment (Service"
        " Connect), no listener rule; its proxy takes 256 CPU units / 64 MiB of each task",
        f"worker {WORKER}: no port, no listener rule; scales on CPU and the depth of SQS"
        f" queue {QUEUE}",
        f"job {JOB}: cron(0 3 * * ? *) Europe/Berlin on FARGATE_SPOT, stopped after 20 min,"
        f" 2 start retries; no task between runs (one now: fargate-env run-job {JOB})",
    ]
    console = Console(width=80, record=True)
    console.print(routes_table(stacks))
    text = console.export_text()
    assert re.findall(r"^\s*\d+\s{2,}(\S+)", text, re.MULTILINE) == ["api", "web"]
    # Still in the order the load balancer tries them.
    priorities = [int(m) for m in re.findall(r"^\s*(\d+)\s{2,}", text, re.MULTILINE)]
    assert priorities == sorted(priorities) and priorities


def test_the_summary_names_schedules_and_namespaces(synth):
    from tests.kinds import KINDS

    stacks = read_environment(synth(KINDS).outdir)
    platform = next(s for s in stacks if s.name == "demo-platform")
    job = next(s for s in stacks if s.name == "demo-service-nightly")
    assert "1 Service Connect namespace" in describe_counts(platform.resource_counts)
    assert "1 schedule, 1 state machine" in describe_counts(job.resource_counts)
