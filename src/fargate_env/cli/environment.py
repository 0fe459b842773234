"""Commands on the synthesized environment: synth, check, cost, diagram (offline) and plan
(against what is deployed, or offline against another assembly)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fargate_env import render
from fargate_env.cli.options import (
    EnvFileOption,
    EnvOption,
    OutOption,
    console,
    err_console,
    load_env,
    user_errors,
)
from fargate_env.cli.preview import PreviewOption, offline_previews
from fargate_env.errors import UserError

# `synth` / `check --preview NAME --service S`: the preview's stack too, offline.
PreviewServiceOption = Annotated[
    str | None, typer.Option("--service", "-s", help="With --preview: the service to copy.")
]


@user_errors
def synth(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: OutOption = Path("cdk.out"),
    preview: PreviewOption = None,
    service: PreviewServiceOption = None,
):
    """Validate the config, synthesize every stack, print a summary."""
    from fargate_env.summary import render_summary
    from fargate_env.synth import refuse_foreign_directory, synthesize

    refuse_foreign_directory(out)
    config = load_env(env, env_file)
    previews = offline_previews(config, preview, service)
    # CDK's own template validation more than doubles a fresh process's synth (measured in
    # bench/loop.py); `check` runs it beside cdk-nag and cfn-lint, and `deploy` keeps it.
    with console.status("synthesizing"):
        stacks = synthesize(config, out, validation=False, previews=previews)
    render_summary(console, config, stacks, out)


@user_errors
def check(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: OutOption = Path("cdk.out"),
    preview: PreviewOption = None,
    service: PreviewServiceOption = None,
):
    """Synthesize with cdk-nag and run cfn-lint; exit 1 on findings."""
    from fargate_env.synth import refuse_foreign_directory

    refuse_foreign_directory(out)
    config = load_env(env, env_file)
    previews = offline_previews(config, preview, service)
    from fargate_env.compliance import run_checks  # the CDK, cdk-nag and cfn-lint: seconds

    with console.status("synthesizing with cdk-nag and CDK validation, then cfn-lint"):
        report = run_checks(config, out, previews)
    table = render.table(f"checks: {config.name}", ["gate", render.right("findings"), "result"])
    for gate, findings in report.gates.items():
        table.add_row(gate, str(len(findings)), render.verdict(not findings))
    console.print(table)
    for finding in report.findings:
        console.print(Text.assemble(("✗", "red"), " ", finding), highlight=False, soft_wrap=True)
    console.print(f"waivers in force: {report.waiver_count} (src/fargate_env/compliance.py)")
    if report.findings:
        raise typer.Exit(1)


# --- cost and diagram ---
FormatOption = Annotated[str, typer.Option("--format", help="table or json.")]
CompareOption = Annotated[bool, typer.Option("--compare", help="Price the profile variants.")]
PictureOption = Annotated[Path, typer.Option("--out", help="Picture to write: .png or .svg.")]


@user_errors
def cost(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    output_format: FormatOption = "table",
    compare: CompareOption = False,
):
    """Monthly bill per resource from the templates.

    Exit 1 when the estimate is over your budget (cost.monthly_budget_usd)."""
    config = load_env(env, env_file)
    if output_format not in ("table", "json"):
        raise UserError(f"--format {output_format!r}: use 'table' or 'json'")
    from fargate_env.cost.run import run_cost

    as_json = output_format == "json"
    if not run_cost(config, console, err_console, as_json=as_json, compare=compare):
        raise typer.Exit(1)


@user_errors
def diagram(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: PictureOption = Path("docs/architecture.png"),
):
    """Architecture picture (graphviz) drawn from the templates."""
    from fargate_env.diagram import refuse_foreign_file, write_diagram

    refuse_foreign_file(out)
    config = load_env(env, env_file)
    with console.status("drawing"):
        written = write_diagram(config, out, say=lambda line: console.print(line, highlight=False))
    console.print(f"wrote {written}")


AgainstOption = Annotated[
    Path | None,
    typer.Option("--against", help="Compare with this assembly, not AWS."),
]


@user_errors
def plan(
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: OutOption = Path("cdk.out"),
    against: AgainstOption = None,
    output_format: FormatOption = "table",
):
    """What a deploy would change, per stack; exit 0 none, 1 changes.

    Each stack: create, update, delete (orphans, priced) or unchanged; then the
    replacements that lose data and the exports CloudFormation would refuse."""
    from fargate_env.cli.options import environment_aws
    from fargate_env.ops import render
    from fargate_env.ops.plan import plan_against, plan_deployed
    from fargate_env.synth import refuse_foreign_directory

    if output_format not in ("table", "json"):
        raise UserError(f"--format {output_format!r}: use 'table' or 'json'")
    as_json = output_format == "json"
    refuse_foreign_directory(out)
    if against is not None:
        config = load_env(env, env_file)
        with console.status("synthesizing"):
            result = plan_against(config, out, against)
        title = f"plan: {config.name}, {out} against {against}"
    else:
        aws = environment_aws(env, env_file, every=True, quiet=as_json)
        with console.status("planning") as status:
            result, kept = plan_deployed(aws, out, progress=status.update)
        if not as_json:
            for k in kept:
                console.print(f"{k.service}: its running tag {k.tag} (the file says {k.file_tag})")
        title = f"plan: {aws.config.name} ({aws.region}) against what is deployed"
    if as_json:
        console.print_json(json.dumps(result.to_json()))
    else:
        render.plan(console, result, title)
    raise typer.Exit(1 if result.changes else 0)
