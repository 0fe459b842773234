"""Stacks are short compositions of constructs: every stack class's __init__, signature
included, fits in MAX_INIT_LINES. Longer means a construct is waiting to be made."""

from __future__ import annotations

import ast
from pathlib import Path

STACKS = Path(__file__).resolve().parents[2] / "src" / "fargate_env" / "stacks"
MAX_INIT_LINES = 60


def init_lengths() -> dict[str, int]:
    """Lines of each stack class's __init__, from `def` to its last line."""
    lengths = {}
    for path in sorted(STACKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    assert item.end_lineno is not None
                    lengths[f"{path.name}:{node.name}"] = item.end_lineno - item.lineno + 1
    return lengths


def test_every_stack_is_measured():
    # The walk finds every stack the app builds: a renamed folder would pass vacuously.
    names = {key.split(":")[1] for key in init_lengths()}
    assert {"NetworkStack", "PlatformStack", "ServiceStack", "PreviewStack"} <= names


def test_no_stack_init_is_over_the_limit():
    long = {name: n for name, n in init_lengths().items() if n > MAX_INIT_LINES}
    assert long == {}, f"stack __init__ over {MAX_INIT_LINES} lines: {long}"


def test_no_stack_or_construct_reads_the_environment_config():
    # app.py is the one place that reads EnvironmentConfig and hands each stack its part.
    modules = [*STACKS.glob("*.py"), *(STACKS.parent / "constructs").glob("*.py")]
    readers = [p.name for p in modules if "EnvironmentConfig" in p.read_text()]
    assert len(modules) > 10
    assert readers == []
