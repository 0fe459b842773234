"""Render a bill and a comparison: rich tables for people, JSON for CI."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fargate_env.cost.compare import Comparison
from fargate_env.cost.estimate import Bill, BillLine
from fargate_env.cost.marginal import GOALS_USD, PROFILES, Marginal

# The goal of issue 8: the cheapest full-featured profile within 1.25 x the ALB floor.
FLOOR_GOAL_RATIO = 1.25
# The goal of issue 16: the cheapest full-featured profile at most this much a month, below
# the internet-facing ALB's own floor ($23.73: its hours and two public IPv4 addresses).
GOAL_USD = 22.50
FLOOR_NOTES = {"alb": "ALB hours + 2 public IPv4", "cloudfront": "ALB hours + CloudFront"}


# A terminal at least this wide also shows the resource type and the full basis of each line.
WIDE_COLUMNS = 140
USD_WIDTH = 9
# Two lines of one resource (the ALB's hours and its LCUs) are told apart by their item.
QUALIFIERS = {"alb-hours": "hours", "alb-lcu": "LCU"}
_CDK_HASH = re.compile(r"^(.+?)([0-9A-F]{8})$")


def _tail(text: str, width: int) -> str:
    """`text` in at most `width` characters, keeping its end: CDK ids grow from the left
    (scope, then construct), so the last words tell two resources apart."""
    if len(text) <= width:
        return text
    cuts = [i for i in range(1, len(text)) if text[i].isupper() and not text[i - 1].isupper()]
    cuts += [i + 1 for i, ch in enumerate(text) if ch == " "]
    for cut in sorted(cuts):
        if len(text) - cut + 1 <= width:
            return "…" + text[cut:]
    return "…" + text[len(text) - width + 1 :]


def display_names(lines: list[BillLine], width: int) -> dict[int, str]:
    """A readable name of at most `width` characters per line of one stack, keyed by index:
    the logical id without CDK's 8-character hash, its suffix (" public IPv4"), a qualifier when
    one resource has several lines, shortened from the left; never two the same."""
    per_resource = Counter(line.resource for line in lines)

    def name(line: BillLine, keep_hash: bool) -> str:
        logical_id, _, suffix = line.resource.partition(" ")
        match = _CDK_HASH.match(logical_id)
        base = match.group(1) if match and not keep_hash else logical_id
        extra = f" {suffix}" if suffix else ""
        if per_resource[line.resource] > 1:
            extra += f" {QUALIFIERS.get(line.item, line.item)}"
        return (
            _tail(base, width - len(extra)) + extra
            if len(extra) < width
            else _tail(base + extra, width)
        )

    names = {i: name(line, keep_hash=False) for i, line in enumerate(lines)}
    clashes = Counter(names.values())
    for i, line in enumerate(lines):
        if clashes[names[i]] > 1:
            names[i] = name(line, keep_hash=True)
    taken: set[str] = set()
    for i in names:
        base, n = names[i], 1
        while names[i] in taken:  # still equal (identical ids): number them
            n += 1
            names[i] = _tail(base, width - len(f" #{n}")) + f" #{n}"
        taken.add(names[i])
    return names


def _short_type(rtype: str) -> str:
    for long, short in (("ElasticLoadBalancingV2", "ELBv2"), ("ApplicationAutoScaling", "AAS")):
        rtype = rtype.replace(long, short)
    return rtype.removeprefix("AWS::")


def _stack_label(lines: list[BillLine]) -> str:
    services = {line.service for line in lines}
    if services == {None}:
        return "shared"
    if len(services) == 1:
        return f"service {services.pop()}"
    return "each line goes to its service"


def render_bill(
    console: Console,
    bill: Bill,
    title: str,
    budget: float,
    marginal: Marginal | None = None,
) -> None:
    """The bill grouped by stack; compact (resource, USD, short basis) below WIDE_COLUMNS."""
    wide = console.width >= WIDE_COLUMNS
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    stacks: dict[str, list[BillLine]] = {}
    for line in bill.lines:
        stacks.setdefault(line.stack, []).append(line)
    longest = max([len(s) for s in stacks] + [len(line.resource) + 2 for line in bill.lines] + [20])
    basis_min = 60 if wide else min(max(len(line.short) for line in bill.lines), 40)
    type_width = 28 if wide else 0
    fixed = USD_WIDTH + basis_min + type_width + (8 if wide else 6)
    res_width = max(16, min(longest, console.width - fixed))
    table.add_column("resource", no_wrap=True, max_width=res_width, overflow="ellipsis")
    if wide:
        table.add_column("type", no_wrap=True, max_width=type_width, overflow="ellipsis")
    table.add_column("USD/month", justify="right", no_wrap=True, width=USD_WIDTH)
    table.add_column("basis", overflow="fold")
    for stack, lines in stacks.items():
        names = display_names(lines, res_width - 2)
        subtotal = sum(line.monthly_usd for line in lines)
        head = [f"[bold]{escape(_tail(stack, res_width))}[/]"]
        tail = [f"[bold]{subtotal:.2f}[/]", f"[dim]{_stack_label(lines)}[/]"]
        table.add_row(*head, *([""] if wide else []), *tail)
        order = sorted(range(len(lines)), key=lambda i: -lines[i].monthly_usd)
        for i in order:
            line = lines[i]
            kind = [_short_type(line.type)] if wide else []
            basis = line.basis if wide else line.short
            table.add_row(escape(f"  {names[i]}"), *kind, f"{line.monthly_usd:.2f}", escape(basis))
    table.add_section()
    blank = [""] if wide else []
    table.add_row("[bold]total[/]", *blank, f"[bold]{bill.total:.2f}[/]", f"budget {budget:.2f}")
    table.add_row("shared", *blank, f"{bill.shared:.2f}", "every line outside a service")
    for name, usd in bill.service_subtotals().items():
        table.add_row(
            escape(_tail(f"service {name}", res_width)),
            *blank,
            f"{usd:.2f}",
            "its stack + its ECR repository",
        )
    console.print(table)
    if marginal is not None:
        render_marginal(console, marginal)
    console.print(
        f"floor (ALB hours + its public IPv4, or + CloudFront): ${bill.floor:.2f}; "
        f"{len(bill.free)} resources cost nothing by themselves",
        highlight=False,
    )
    for item in bill.not_priced:
        console.print(
            f"[yellow]not priced[/]: {item.stack}/{item.resource} ({item.type}): {item.reason}",
            highlight=False,
        )
    usage = ", ".join(f"{k}={v}" for k, v in bill.assumptions.items() if k != "unverified_prices")
    console.print(f"assumptions: {usage}", highlight=False)
    unverified = ", ".join(bill.assumptions.get("unverified_prices", []))
    console.print(f"unverified prices ({bill.region}): {unverified}", highlight=False)


def render_marginal(console: Console, marginal: Marginal) -> None:
    console.print(
        f"one more service like {marginal.template} ({marginal.description}), synthesized:",
        highlight=False,
    )
    for key, label in PROFILES.items():
        verdict = "[green]met[/]" if marginal.met(key) else "[red]not met[/]"
        console.print(
            f"  {label:<12} ${marginal.monthly_usd[key]:.2f}/month"
            f" (goal <= ${GOALS_USD[key]:.2f}: {verdict})",
            highlight=False,
        )


def render_comparison(console: Console, comparison: Comparison) -> None:
    table = Table(title="profiles, cheapest first")
    for column, justify in (("profile", "left"), ("USD/month", "right"), ("x floor", "right"),
                            ("saving", "right")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in comparison.rows:
        notes = []
        if row.variant.is_plan:
            notes.append("plan's literal design")
        if not row.essentials:
            notes.append("lacks HTTPS/health check/autoscaling/alarms")
        if row.bill.not_priced:
            notes.append(f"{len(row.bill.not_priced)} not priced")
        note = f" [dim]({'; '.join(notes)})[/]" if notes else ""
        table.add_row(
            escape(row.variant.label) + note,
            f"{row.bill.total:.2f}",
            f"{row.bill.total / comparison.floor:.2f}" if comparison.floor else "-",
            f"{comparison.current_total - row.bill.total:+.2f}",
        )
    console.print(table)
    console.print(
        f"x floor: against this config's floor, ${comparison.floor:.2f}/month;"
        " saving: against this config's bill",
        highlight=False,
    )
    for edge, floor in comparison.floors.items():
        console.print(f"floor, edge {edge}: ${floor:.2f}/month ({FLOOR_NOTES[edge]})")
    for label, reason in comparison.skipped.items():
        console.print(f"[yellow]skipped[/] {label}: {reason}", highlight=False)
    best = comparison.cheapest_with_essentials
    if best is None:
        console.print("[yellow]no profile keeps HTTPS, health checks, autoscaling and alarms[/]")
        return
    console.print("cheapest with HTTPS, health checks, autoscaling and alarms, per edge:")
    for edge, floor in comparison.floors.items():
        row = comparison.cheapest_of_edge(edge)
        if row is None:
            continue
        ratio = row.bill.total / floor if floor else 0.0
        goal = ""
        if edge == "alb":
            verdict = "[green]met[/]" if ratio <= FLOOR_GOAL_RATIO else "[red]not met[/]"
            goal = f" (goal <= {FLOOR_GOAL_RATIO} x: {verdict})"
        console.print(
            f"  {row.variant.label}: ${row.bill.total:.2f} = {ratio:.2f} x its floor{goal}",
            highlight=False,
        )
    verdict = "[green]met[/]" if best.bill.total <= GOAL_USD else "[red]not met[/]"
    console.print(
        f"cheapest: {best.variant.label} = ${best.bill.total:.2f}"
        f" (goal <= ${GOAL_USD:.2f}/month: {verdict})",
        highlight=False,
    )


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    best = comparison.cheapest_with_essentials
    return {
        "floor_monthly_usd": comparison.floor,
        "floor_by_edge_monthly_usd": comparison.floors,
        "goal_ratio": FLOOR_GOAL_RATIO,
        "goal_monthly_usd": GOAL_USD,
        "cheapest_with_essentials": best.variant.label if best else None,
        "cheapest_with_essentials_monthly_usd": best.bill.total if best else None,
        "cheapest_by_edge": {
            edge: {"profile": row.variant.label, "total_monthly_usd": row.bill.total}
            for edge in comparison.floors
            if (row := comparison.cheapest_of_edge(edge)) is not None
        },
        "skipped": comparison.skipped,
        "profiles": [
            {
                "profile": row.variant.label,
                "total_monthly_usd": row.bill.total,
                "ratio_to_floor": round(row.bill.total / comparison.floor, 3)
                if comparison.floor
                else None,
                "saving_vs_current_usd": round(comparison.current_total - row.bill.total, 2),
                "plan_design": row.variant.is_plan,
                "essentials": row.essentials,
            }
            for row in comparison.rows
        ],
    }
