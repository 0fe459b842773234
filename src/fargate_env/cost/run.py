"""The `cost` command's work: price the config and one more service, optionally compare
profiles, judge the budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TypeVar

from rich.console import Console
from rich.markup import escape

from fargate_env import render, synth
from fargate_env.config import EnvironmentConfig
from fargate_env.cost.compare import compare as compare_profiles
from fargate_env.cost.compare import current_bill
from fargate_env.cost.marginal import Marginal, marginal_service
from fargate_env.cost.preview import PreviewCost, add_expected_previews, preview_cost
from fargate_env.cost.report import comparison_json, render_bill, render_comparison
from fargate_env.freshness import recall, remember

T = TypeVar("T")


def once(config: EnvironmentConfig, key: str, compute: Callable[[], T], kind: type) -> T:
    """A probe's figures depend on the config and the code alone: while ./cdk.out is fresh they
    are computed at its first `cost` and kept in its record, so later runs skip the synths."""
    found, saved = recall(synth.DEFAULT_ASSEMBLY, config, key)
    if found:
        return None if saved is None else kind(**saved)
    value = compute()
    remember(synth.DEFAULT_ASSEMBLY, config, key, None if value is None else asdict(value))
    return value


def run_cost(
    config: EnvironmentConfig, out: Console, err: Console, *, as_json: bool, compare: bool
) -> bool:
    """Print the bill (and comparison); False when the estimate exceeds the budget."""
    budget = config.cost.monthly_budget_usd
    if as_json:
        bill = current_bill(config, say=lambda line: err.print(line, highlight=False))
        preview = once(config, "preview", lambda: preview_cost(config), PreviewCost)
        if preview is not None:
            add_expected_previews(bill, preview)
        payload = bill.to_json()
        if preview is not None:
            payload.update(preview.to_json())
        payload["monthly_budget_usd"] = budget
        payload.update(
            once(config, "marginal", lambda: marginal_service(config), Marginal).to_json()
        )
        if compare:
            payload["compare"] = comparison_json(compare_profiles(config, bill))
        render.print_json(out, payload)
    else:
        with out.status("pricing"):
            bill = current_bill(config, say=lambda line: out.print(line, highlight=False))
        with out.status("synthesizing and pricing one more service"):
            marginal = once(config, "marginal", lambda: marginal_service(config), Marginal)
        with out.status("synthesizing and pricing one preview"):
            preview = once(config, "preview", lambda: preview_cost(config), PreviewCost)
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
