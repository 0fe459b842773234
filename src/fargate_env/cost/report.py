"""Render a bill and a comparison: tables for people (fargate_env.render), JSON for CI."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape

from fargate_env import render
from fargate_env.config import ScheduleConfig
from fargate_env.cost.compare import COMPUTE, Comparison, config_keys
from fargate_env.cost.estimate import Bill, BillLine, cents_sum
from fargate_env.cost.marginal import PROFILES, Marginal

# A terminal at least this wide also shows the resource type and the full basis of each line.
WIDE_COLUMNS = 140
USD_WIDTH = 9
# Two lines of one resource (the ALB's hours and its LCUs) are told apart by their item.
QUALIFIERS = {"alb-hours": "hours", "alb-lcu": "LCU"}
KIND_LABELS = {"web": "web services", "backend": "backends", "worker": "workers", "job": "jobs"}
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


def _stack_label(lines: list[BillLine], bill: Bill) -> str:
    services = {line.service for line in lines}
    if services == {None}:
        return "shared"
    if len(services) == 1:
        name = services.pop()
        whole = {line.stack for line in bill.lines if line.service == name} == {lines[0].stack}
        return f"service {name}" if whole else f"part of service {name} (below)"
    return "each line goes to its service (below)"


def _part_name(bill: Bill, stack: str, lines: list[BillLine]) -> str:
    """What a service's lines in one stack are: "its stack", "its ECR repository"."""
    if all(line.type == "AWS::ECR::Repository" for line in lines):
        return "its ECR repository"
    if all(line.service == lines[0].service for line in bill.lines if line.stack == stack):
        return "its stack"
    return f"its lines in {stack}"


def service_parts(bill: Bill, name: str) -> list[tuple[str, float]]:
    """A service's figure in its named parts (its stack, its repository), each to the cent;
    they add up to its line under the total."""
    by_stack: dict[str, list[BillLine]] = {}
    for line in bill.lines:
        if line.service == name:
            by_stack.setdefault(line.stack, []).append(line)
    parts = [
        (_part_name(bill, stack, lines), cents_sum(line.monthly_usd for line in lines))
        for stack, lines in by_stack.items()
    ]
    return sorted(parts, key=lambda part: -part[1])


def render_bill(
    console: Console,
    bill: Bill,
    title: str,
    budget: float,
    marginal: Marginal | None = None,
) -> None:
    """The bill grouped by stack; compact (resource, USD, short basis) below WIDE_COLUMNS.
    Every figure is to the cent and every sum is of the figures as printed."""
    wide = console.width >= WIDE_COLUMNS
    table = render.table(title)
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
        subtotal = cents_sum(line.monthly_usd for line in lines)
        head = [f"[bold]{escape(_tail(stack, res_width))}[/]"]
        tail = [f"[bold]{render.usd(subtotal)}[/]", f"[dim]{_stack_label(lines, bill)}[/]"]
        table.add_row(*head, *([""] if wide else []), *tail)
        order = sorted(range(len(lines)), key=lambda i: -lines[i].monthly_usd)
        for i in order:
            line = lines[i]
            kind = [_short_type(line.type)] if wide else []
            basis = line.basis if wide else line.short
            table.add_row(
                escape(f"  {names[i]}"), *kind, render.usd(line.monthly_usd), escape(basis)
            )
    table.add_section()
    blank = [""] if wide else []
    left = budget - bill.total
    standing = f"{render.usd(left)} under" if left >= 0 else f"{render.usd(-left)} over"
    table.add_row(
        "[bold]total[/]",
        *blank,
        f"[bold]{render.usd(bill.total)}[/]",
        f"{standing} your budget, {render.usd(budget)}",
    )
    table.add_row("shared", *blank, render.usd(bill.shared), "every line outside a service")
    groups = bill.kind_subtotals()
    by_kind = set(groups) != {"web"}  # an environment of web services alone: no kind rows
    for kind, group in groups.items():
        if by_kind:
            label = f"{KIND_LABELS[kind]} ({len(group)})"
            table.add_row(label, *blank, render.usd(cents_sum(group.values())), ", ".join(group))
        indent = "  " if by_kind else ""
        for name, usd in group.items():
            parts = " + ".join(f"{part} {render.usd(x)}" for part, x in service_parts(bill, name))
            label = escape(_tail(f"{indent}service {name}", res_width))
            table.add_row(label, *blank, render.usd(usd), parts)
    console.print(table)
    if marginal is not None:
        render_marginal(console, marginal)
    render.paragraph(
        console,
        f"floor (ALB hours + its public IPv4, or + CloudFront): {render.dollars(bill.floor)};"
        f" {len(bill.free)} resources cost nothing by themselves",
    )
    for item in bill.not_priced:
        render.paragraph(
            console,
            f"[yellow]not priced[/]: {escape(f'{item.stack}/{item.resource}')}"
            f" ({item.type}): {escape(item.reason)}",
        )
    usage = ", ".join(f"{k}={v}" for k, v in bill.assumptions.items() if k != "unverified_prices")
    render.paragraph(console, escape(f"assumptions: {usage}"))
    unverified = ", ".join(bill.assumptions.get("unverified_prices", []))
    render.paragraph(console, escape(f"unverified prices ({bill.region}): {unverified}"))


def render_marginal(console: Console, marginal: Marginal) -> None:
    render.paragraph(
        console,
        escape(
            f"one more service like {marginal.template} ({marginal.description}),"
            if marginal.template
            else "one more web service (new, defaults),"
        )
        + " synthesized:",
    )
    for key, label in PROFILES.items():
        console.print(
            f"  {label:<12} {render.dollars(marginal.monthly_usd[key])}/month", highlight=False
        )
    if not marginal.kinds:
        return
    render.paragraph(console, "one more of each other kind, synthesized (always on):")
    for kind, probe in marginal.kinds.items():
        like = f"like {probe['clone_of']}" if probe["clone_of"] else "new, defaults"
        text = f"{kind:<12} {render.dollars(probe['monthly_usd'])}/month ({like}, {probe['size']}"
        if probe.get("proxy_usd"):
            text += (
                f"; {render.dollars(probe['proxy_usd'])} of it the Service Connect proxy's share"
            )
        render.paragraph(console, escape(text + ")"), "  ")


# The words of a profile's label and the config keys behind them (compare.config_keys).
def profile_keys() -> list[tuple[str, str]]:
    computes = [
        (name, f'services.*.architecture = "{c["architecture"]}", .capacity.spot = '
         f"{str(c['spot']).lower()}")
        for name, c in COMPUTE.items()
    ]  # fmt: skip
    default = ScheduleConfig()
    office = f"stop {default.stop}, start {default.start} ({default.timezone})"
    return [
        ("alb, cloudfront", "load_balancer.edge"),
        ("nat-gateway, nat-instance, public", "network.egress"),
        *computes,
        ("always on", "no services.*.schedule"),
        ("office hours", f"services.*.schedule: its own, else {office}"),
        (
            "no dashboard or flow logs",
            "monitoring.dashboard = false, network.flow_logs.enabled = false",
        ),
    ]


def render_comparison(console: Console, comparison: Comparison, budget: float) -> None:
    """One floor throughout: this config's (its ALB's hours + public IPv4, or + CloudFront)."""
    floor = comparison.floor
    table = render.table(
        "profiles, cheapest first",
        ["profile", render.right("USD/month"), render.right("x floor"), render.right("saving")],
    )
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
            render.usd(row.bill.total),
            f"{row.bill.total / floor:.2f}" if floor else "-",
            f"{comparison.current_total - row.bill.total:+.2f}",
        )
    console.print(table)
    render.paragraph(
        console,
        f"x floor: against this config's floor, {render.dollars(floor)}/month (its ALB's hours"
        " + public IPv4, or + CloudFront); saving: against this config's bill,"
        f" {render.dollars(comparison.current_total)}/month",
    )
    keys = render.table("the config keys behind a profile (set for every service)")
    keys.add_column("profile says")
    keys.add_column("config keys", overflow="fold")
    for words, key in profile_keys():
        keys.add_row(words, escape(key))
    console.print(keys)
    for label, reason in comparison.skipped.items():
        render.paragraph(console, f"[yellow]skipped[/] {escape(label)}: {escape(reason)}")
    best = comparison.cheapest_with_essentials
    if best is None:
        console.print("[yellow]no profile keeps HTTPS, health checks, autoscaling and alarms[/]")
        return
    console.print("cheapest with HTTPS, health checks, autoscaling and alarms, per edge:")
    for edge in comparison.floors:
        row = comparison.cheapest_of_edge(edge)
        if row is None:
            continue
        ratio = f" = {row.bill.total / floor:.2f} x floor" if floor else ""
        render.paragraph(
            console, escape(f"{row.variant.label}: {render.dollars(row.bill.total)}{ratio}"), "  "
        )
    left = budget - best.bill.total
    standing = f"{render.dollars(left)} under" if left >= 0 else f"{render.dollars(-left)} over"
    render.paragraph(
        console,
        escape(f"cheapest: {best.variant.label} = {render.dollars(best.bill.total)}/month,")
        + f" {standing} your budget ({render.dollars(budget)}, cost.monthly_budget_usd)",
    )


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    best = comparison.cheapest_with_essentials
    return {
        "floor_monthly_usd": comparison.floor,
        "floor_by_edge_monthly_usd": comparison.floors,
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
                "config": config_keys(row.variant),
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
