"""The `cost` command's work: price the config and one more service, optionally compare
profiles, judge the budget."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from fargate_env import render
from fargate_env.config import EnvironmentConfig
from fargate_env.cost.compare import compare as compare_profiles
from fargate_env.cost.compare import current_bill
from fargate_env.cost.marginal import marginal_service
from fargate_env.cost.preview import PreviewCost, add_expected_previews, preview_cost
from fargate_env.cost.report import comparison_json, render_bill, render_comparison


def run_cost(
    config: EnvironmentConfig, out: Console, err: Console, *, as_json: bool, compare: bool
) -> bool:
    """Print the bill (and comparison); False when the estimate exceeds the budget."""
    budget = config.cost.monthly_budget_usd
    if as_json:
        bill = current_bill(config)
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
        render.print_json(out, payload)
    else:
        with out.status("synthesizing (CDK validation off) and pricing"):
            bill = current_bill(config)
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
            render_comparison(out, comparison, budget)
    if bill.total > budget:
        err.print(
            f"[bold red]over budget:[/] estimate ${bill.total:.2f}/month exceeds"
            f" your budget, cost.monthly_budget_usd = ${budget:.2f} (raise it or pick a cheaper"
            " profile: fargate-env cost --compare)",
            highlight=False,
            soft_wrap=True,
        )
        return False
    return True


def render_preview(out: Console, preview: PreviewCost | None) -> None:
    if preview is None:
        out.print("previews: off (load_balancer.preview_domain unset)")
        return
    n = preview.expected_active
    render.paragraph(
        out,
        escape(f"one preview of {preview.service} ({preview.description}), synthesized:")
        + f" {render.dollars(preview.monthly_usd)}/month alive,"
        f" ${preview.per_day_usd:.3f}/day; previews.expected_active = {n}"
        + (f", {n} of them in the total" if n else ", so none in the total"),
    )
