"""`fargate-env destroy`: previews, then services, then shared stacks; what stays behind."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from fargate_env import render
from fargate_env.cli.options import (
    EnvFileOption,
    EnvOption,
    console,
    environment_aws,
    user_errors,
)
from fargate_env.config import EnvironmentConfig
from fargate_env.errors import UserError


def render_plan(plan: Any, config: EnvironmentConfig, region: str) -> None:
    table = render.table(f"destroy {config.name} ({region}): in this order")
    for column in ("step", "stage", "stacks"):
        table.add_column(column)
    for number, stage in enumerate(plan.stages, 1):
        table.add_row(str(number), stage.label, "\n".join(stage.stacks))
    console.print(table)
    for stack, buckets in plan.empty_first.items():
        for bucket in buckets:
            console.print(f"emptied before {stack} is deleted: s3://{bucket}", highlight=False)
    if not plan.leftovers:
        console.print("nothing stays behind")
        return
    stays = render.table(
        "stays behind (removal policy retain), if left",
        ["what", "name", render.right("GB"), render.right("USD/month")],
    )
    for item in plan.leftovers:
        stays.add_row(item.kind, item.name, f"{item.size_gb:.2f}", render.usd(item.monthly_usd))
    # The total of the figures as printed: each to the cent, then added.
    total = sum(round(item.monthly_usd, 2) for item in plan.leftovers)
    stays.add_row("[bold]total[/]", "", "", f"[bold]{render.usd(total)}[/]")
    console.print(stays)


def render_outcome(outcome: Any) -> None:
    for stack in outcome.deleted:
        console.print(f"[green]deleted[/] {stack}", highlight=False)
    for stack, reason in outcome.failed.items():
        console.print(f"[red]failed[/] {stack}: {reason}", highlight=False, soft_wrap=True)
    if outcome.left:
        console.print(f"[yellow]left[/]: {', '.join(outcome.left)}", highlight=False)
        console.print("fix the cause above, then run the same command again", highlight=False)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _confirm(config: EnvironmentConfig, count: int) -> None:
    if not stdin_is_terminal():
        raise UserError(
            "destroy asks for confirmation, and stdin is not a terminal: pass --yes to delete"
            " without asking"
        )
    answer = typer.prompt(f"type {config.name!r} to delete these {count} stacks", default="")
    if answer.strip() != config.name:
        console.print("not confirmed: nothing was deleted")
        raise typer.Exit(1)


@user_errors
def destroy(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    service: Annotated[
        str | None,
        typer.Option("--service", "-s", help="Only this service's previews and stack."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Delete without asking.")] = False,
):
    """Delete previews, services, then shared stacks; say what stays.

    What stays behind (retained buckets, repositories) is listed with its cost."""
    from fargate_env.ops.destroy import delete_stages, plan_destroy

    # --service may name a service no longer in the file: its stack is still there to delete.
    aws = environment_aws(env, env_file, every=True, checked=True)
    config = aws.config
    with console.status("reading the environment's stacks"):
        plan = plan_destroy(aws, service)
    if not plan.stages:
        console.print(f"nothing of {config.name} is deployed in {aws.region}")
        return
    render_plan(plan, config, aws.region)
    if not yes:
        _confirm(config, len(plan.stacks))
    outcome = delete_stages(aws, plan, progress=console.print)
    render_outcome(outcome)
    if not outcome.ok:
        raise typer.Exit(1)
