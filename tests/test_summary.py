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
