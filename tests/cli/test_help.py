"""Help is written for 80 columns: no help text wraps mid-sentence at COLUMNS=80.

Every command's --help is rendered at 80 and at 200 columns: the 80-column page may only add
lines that start a bracketed tag ("[default: ...]", "[required]"); any other extra line is a
sentence cut by the terminal. And each command's one-line summary (its docstring's first
paragraph, shown in its group's command list) is one line of its own.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fargate_env.cli import app

runner = CliRunner()


def commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer's click, duck-typed)
            found += commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


ROOT: Any = typer.main.get_command(app)
COMMANDS = commands(ROOT)


def help_lines(path: tuple[str, ...], columns: int) -> list[str]:
    env = {"COLUMNS": str(columns)}
    result = runner.invoke(app, [*path, "--help"], env=env)
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if line.strip(" │╭╮╰╯─")]


def cell_text(line: str) -> str:
    return line.strip().strip("│").strip()


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "fargate-env")
def test_help_fits_80_columns_without_cutting_a_sentence(path: tuple[str, ...]) -> None:
    narrow, wide = help_lines(path, 80), help_lines(path, 200)
    assert all(len(line) <= 80 for line in narrow), path
    tags = [line for line in narrow if cell_text(line).startswith("[")]
    wide_tags = [line for line in wide if cell_text(line).startswith("[")]
    extra = len(narrow) - len(tags) - (len(wide) - len(wide_tags))
    assert extra == 0, "\n".join(narrow)


def test_the_walk_found_every_command() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"cost", "load", "local deploy", "preview list", "destroy"} <= names


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=" ".join)
def test_each_summary_is_one_line(path: tuple[str, ...]) -> None:
    command = ROOT
    for name in path:
        command = command.commands[name]
    first = (command.help or "").strip().split("\n\n")[0]
    assert "\n" not in first, f"{' '.join(path)}: {first!r}"
