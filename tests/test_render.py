"""fargate_env.render: the one module that decides tables and wrapping for every command."""

from __future__ import annotations

import io
import re

from rich.console import Console

from fargate_env import render
from tests.conftest import ROOT

SRC = ROOT / "src" / "fargate_env"
# What only the renderer may do: build a rich table, pick a box style, wrap text itself.
SHAPING = re.compile(r"\bTable\(|from rich import box|\btextwrap\b|get_terminal_size")


def test_no_module_but_render_shapes_output() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path.name != "render.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SHAPING.search(line) and "PriceTable(" not in line
    ]
    assert not offenders, offenders


def test_every_table_has_the_one_style() -> None:
    out = io.StringIO()
    table = render.table("t", ["name", render.right("USD/month")])
    table.add_row("web", "4.38")
    Console(file=out, width=80, color_system=None).print(table)
    lines = out.getvalue().splitlines()
    assert not any(ch in out.getvalue() for ch in "│┃╭╰")  # no box around, no column bars
    assert lines[1].split() == ["name", "USD/month"] and set(lines[2].strip()) == {"─"}
    assert lines[3].split() == ["web", "4.38"]


def test_paragraph_wraps_between_words_with_a_hanging_indent() -> None:
    out = io.StringIO()
    console = Console(file=out, width=40, color_system=None)
    words = " ".join(f"word{n}" for n in range(20))
    render.paragraph(console, f"[bold]{words}[/]", indent="  ")
    lines = out.getvalue().splitlines()
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("  word0") and all(line.startswith("      w") for line in lines[1:])
    assert " ".join(" ".join(lines).split()) == words  # nothing lost, no word cut


def test_say_never_breaks_a_value(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    url = "http://127.0.0.1:8080/a/very/long/path/that/is/wider/than/the/line"
    render.say(f"open {url} now")
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["open", f"    {url}", "    now"]


def test_money() -> None:
    assert render.usd(4.3749) == "4.37" and render.dollars(65.4) == "$65.40"
