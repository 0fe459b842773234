"""Render a bill and a comparison: rich tables for people, JSON for CI."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from fargate_env.cost.compare import Comparison
from fargate_env.cost.estimate import Bill

# The goal of issue 8: the cheapest full-featured profile within 1.25 x the ALB floor.
FLOOR_GOAL_RATIO = 1.25


def render_bill(console: Console, bill: Bill, title: str, budget: float) -> None:
    table = Table(title=title)
    for column, justify in (("stack", "left"), ("resource", "left"), ("type", "left"),
                            ("USD/month", "right"), ("basis", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for line in sorted(bill.lines, key=lambda x: (x.stack, -x.monthly_usd)):
        table.add_row(
            line.stack,
            line.resource,
            line.type.removeprefix("AWS::"),
            f"{line.monthly_usd:.2f}",
            line.basis,
        )
    table.add_section()
    table.add_row("total", "", "", f"[bold]{bill.total:.2f}[/]", f"budget {budget:.2f}")
    console.print(table)
    console.print(
        f"floor (ALB hours + its public IPv4): ${bill.floor:.2f}; "
        f"{len(bill.free)} resources cost nothing by themselves",
        highlight=False,
    )
    for item in bill.not_priced:
        console.print(
            f"[yellow]not priced[/]: {item.stack}/{item.resource} ({item.type}): {item.reason}",
            highlight=False,
        )
    usage = ", ".join(f"{k}={v}" for k, v in bill.assumptions.items() if k != "unverified_prices")
    console.print(f"assumptions: {usage}", highlight=False, soft_wrap=True)
    unverified = ", ".join(bill.assumptions.get("unverified_prices", []))
    console.print(f"unverified prices ({bill.region}): {unverified}", highlight=False)


def render_comparison(console: Console, comparison: Comparison) -> None:
    table = Table(title="profiles, cheapest first")
    for column, justify in (("profile", "left"), ("USD/month", "right"), ("x floor", "right"),
                            ("saving vs current", "right"), ("note", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in comparison.rows:
        notes = []
        if row.variant.is_plan:
            notes.append("plan's literal design")
        if not row.essentials:
            notes.append("lacks HTTPS/health check/autoscaling/alarms")
        if row.bill.not_priced:
            notes.append(f"{len(row.bill.not_priced)} not priced")
        table.add_row(
            row.variant.label,
            f"{row.bill.total:.2f}",
            f"{row.bill.total / comparison.floor:.2f}" if comparison.floor else "-",
            f"{comparison.current_total - row.bill.total:+.2f}",
            "; ".join(notes),
        )
    console.print(table)
    console.print(f"floor: ${comparison.floor:.2f}/month (ALB hours + 2 public IPv4)")
    best = comparison.cheapest_with_essentials
    if best is None:
        console.print("[yellow]no profile keeps HTTPS, health checks, autoscaling and alarms[/]")
        return
    ratio = best.bill.total / comparison.floor
    verdict = "[green]met[/]" if ratio <= FLOOR_GOAL_RATIO else "[red]not met[/]"
    console.print(
        "cheapest profile with HTTPS, health checks, autoscaling and alarms:"
        f" {best.variant.label} = ${best.bill.total:.2f} = {ratio:.2f} x floor"
        f" (goal <= {FLOOR_GOAL_RATIO} x): {verdict}",
        highlight=False,
    )


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    best = comparison.cheapest_with_essentials
    return {
        "floor_monthly_usd": comparison.floor,
        "goal_ratio": FLOOR_GOAL_RATIO,
        "cheapest_with_essentials": best.variant.label if best else None,
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
