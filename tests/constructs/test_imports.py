"""Constructs are reusable units: none depends on a stack module."""

from pathlib import Path


def test_no_construct_imports_a_stack():
    constructs = Path(__file__).resolve().parents[2] / "src" / "fargate_env" / "constructs"
    offenders = [p.name for p in constructs.glob("*.py") if "fargate_env.stacks" in p.read_text()]
    assert offenders == []
