"""The `cost` command's work: price the config and one more service, optionally compare
profiles, judge the budget."""

from __future__ import annotations

import json

from rich.console import Console

from fargate_env.config import EnvironmentConfig
from fargate_env.cost.compare import compare as compare_profiles
from fargate_env.cost.compare import current_bill
from fargate_env.cost.marginal import marginal_service
from fargate_env.cost.preview import (
    GOAL_USD_PER_DAY,
    PreviewCost,
    add_expected_previews,
    preview_cost,
)
from fargate_env.cost.report import comparison_json, render_bill, render_comparison


def run_cost(
    config: EnvironmentConfig, out: Console, err: Console, *, as_json: bool, compare: bool
) -> bool:
    """Print the bill (and comparison); False when the estimate exceeds the budget."""
    budget = config.cost.monthly_budget_usd
    if as_json:
        bill = current_bill(config, say=lambda line: err.print(line, highlight=False))
        preview = preview_cost(config, bill)
        if preview is not None:
            add_expected_previews(bill, preview)
        payload = bill.to_json()
        if preview is not None:
            payload.update(preview.to_json())
        payload["monthly_budget_usd"] = budget
        payload.update(marginal_service(config, bill).to_json())
        if compare:
            payload["compare"] = comparison_json(compare_profiles(config, bill))
        out.print_json(json.dumps(payload))
    else:
        with out.status("pricing"):
            bill = current_bill(config, say=lambda line: out.print(line, highlight=False))
        with out.status("synthesizing and pricing one more service"):
            marginal = marginal_service(config, bill)
        with out.status("synthesizing and pricing one preview"):
            preview = preview_cost(config, bill)
        if preview is not None:
            add_expected_previews(bill, preview)
        title = f"{config.name} ({bill.region}): monthly estimate, USD"
        render_bill(out, bill, title, budget, marginal)
        render_preview(out, preview)
        if compare:
            with out.status("synthesizing profile variants") as status:
                comparison = compare_profiles(
                    config, bill, progress=lambda label: status.update(f"variant: {label}")
                )
            render_comparison(out, comparison)
    if bill.total > budget:
        err.print(
            f"[bold red]over budget:[/] estimate ${bill.total:.2f}/month exceeds"
            f" cost.monthly_budget_usd = ${budget:.2f} (raise it or pick a cheaper profile:"
            " fargate-env cost --compare)",
            highlight=False,
            soft_wrap=True,
        )
        return False
    return True


def render_preview(out: Console, preview: PreviewCost | None) -> None:
    if preview is None:
        out.print("previews: off (load_balancer.preview_domain unset)")
        return
    verdict = "[green]met[/]" if preview.met else "[red]not met[/]"
    out.print(
        f"one preview of {preview.service} ({preview.description}), synthesized:"
        f" ${preview.monthly_usd:.2f}/month alive, ${preview.per_day_usd:.3f}/day"
        f" (goal <= ${GOAL_USD_PER_DAY:.2f}/day: {verdict}); previews.expected_active ="
        f" {preview.expected_active} in the total",
        highlight=False,
    )
