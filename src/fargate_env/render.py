"""How every command prints: one table style, wrapping at the terminal's width, money, JSON.

Callers own their content (which rows, which words); this module owns the shape, so that
every table looks alike and every long line wraps the same way within 80 columns.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Continuation lines of a wrapped paragraph start this much further in than its first line.
HANGING = "    "
MIN_WIDTH = 40


# --- money (sums are the bill's: fargate_env.cost.estimate.Bill adds the rounded lines) ---
def usd(x: float) -> str:
    """A figure in a USD column: to the cent, no sign."""
    return f"{x:.2f}"


def dollars(x: float) -> str:
    """A figure in running text: "$4.38", "$1,204.00"."""
    return f"${x:,.2f}"


# --- tables ---
Column = str | tuple[str, dict[str, Any]]


def table(title: str | Text | None, columns: Sequence[Column] = ()) -> Table:
    """The one table style: the title on the left, a rule under the header, no outer box, no
    padding at the edges, so that tables keep their width for content in 80 columns. A column
    is its name, or its name and rich column options (justify="right", no_wrap=True, ...)."""
    out = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    for column in columns:
        name, options = (column, {}) if isinstance(column, str) else column
        out.add_column(name, **options)
    return out


def right(name: str) -> tuple[str, dict[str, Any]]:
    """A right-aligned (figures) column."""
    return name, {"justify": "right"}


# --- wrapping ---
def width() -> int:
    """The terminal's width (COLUMNS when set), at least MIN_WIDTH."""
    return max(shutil.get_terminal_size(fallback=(80, 24)).columns, MIN_WIDTH)


def wrap(text: str, columns: int, indent: str = "") -> list[str]:
    """`text` in lines of at most `columns`, continuation lines indented by HANGING; values
    (paths, flags, URLs) are never broken."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                line,
                width=columns,
                initial_indent=indent,
                subsequent_indent=indent + HANGING,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [indent]
        )
    return lines


def say(text: str, indent: str = "") -> None:
    """Print plain `text` to stdout, wrapped at the terminal's width."""
    for line in wrap(text, width(), indent):
        typer.echo(line)


def paragraph(console: Console, text: str | Text, indent: str = "") -> None:
    """Print `text` (rich markup, or a Text taken literally) on `console`, wrapped between
    words at the console's width with continuation lines indented by HANGING."""
    body = Text.from_markup(text) if isinstance(text, str) else text
    lines = body.wrap(console, max(console.width - len(indent) - len(HANGING), 20))
    for n, line in enumerate(lines):
        line.rstrip()
        console.print(Text(indent + (HANGING if n else "")) + line, highlight=False, soft_wrap=True)


def verdict(ok: bool, yes: str = "pass", no: str = "fail") -> str:
    return f"[green]{yes}[/]" if ok else f"[red]{no}[/]"


# --- JSON ---
def print_json(console: Console, payload: Any) -> None:
    console.print_json(json.dumps(payload))
