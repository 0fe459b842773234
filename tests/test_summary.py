"""The synth summary's resource line: named types in order, plurals, and the rest as other."""

from __future__ import annotations

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
