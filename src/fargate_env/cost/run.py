"""The `cost` command's work: price the config and one more service, optionally compare
profiles, judge the budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TypeVar

from rich.console import Console

from fargate_env import synth
from fargate_env.config import EnvironmentConfig
from fargate_env.cost.compare import compare as compare_profiles
from fargate_env.cost.compare import current_bill
from fargate_env.cost.marginal import Marginal, marginal_service
from fargate_env.cost.preview import (
    GOAL_USD_PER_DAY,
    PreviewCost,
    add_expected_previews,
    preview_cost,
)
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
        preview = once(config, "preview", lambda: preview_cost(config, bill), PreviewCost)
        if preview is not None:
            add_expected_previews(bill, preview)
        payload = bill.to_json()
        if preview is not None:
            payload.update(preview.to_json())
        payload["monthly_budget_usd"] = budget
        payload.update(
            once(config, "marginal", lambda: marginal_service(config, bill), Marginal).to_json()
        )
        if compare:
            payload["compare"] = comparison_json(compare_profiles(config, bill))
        out.print_json(json.dumps(payload))
    else:
        with out.status("pricing"):
            bill = current_bill(config, say=lambda line: out.print(line, highlight=False))
        with out.status("synthesizing and pricing one more service"):
            marginal = once(config, "marginal", lambda: marginal_service(config, bill), Marginal)
        with out.status("synthesizing and pricing one preview"):
            preview = once(config, "preview", lambda: preview_cost(config, bill), PreviewCost)
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
