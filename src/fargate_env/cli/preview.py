"""`fargate-env preview up|list|extend|down`: thin commands over fargate_env.ops.previews."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from fargate_env import render
from fargate_env.cli.destroy import render_outcome
from fargate_env.cli.options import (
    EnvFileOption,
    EnvOption,
    OutOption,
    console,
    environment_aws,
    load_env,
    user_errors,
)
from fargate_env.config import EnvironmentConfig
from fargate_env.errors import UserError
from fargate_env.preview_spec import Preview, new_preview, now_utc

preview_app = typer.Typer(
    name="preview",
    help="Short-lived copies of a service that delete themselves.\n\n"
    "Each answers on <name>.<preview_domain>.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Preview name: a DNS label, e.g. pr-42.")]
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="Service to copy (needed if several)."),
]
TtlOption = Annotated[
    str | None, typer.Option("--ttl", help="Lifetime from now: 90m, 48h, 7d (default 48h).")
]
ImageTagOption = Annotated[
    str | None, typer.Option("--image-tag", help="Image tag (default: the service's).")
]
PreviewOption = Annotated[
    str | None, typer.Option("--preview", help="Also synthesize preview NAME (with --service).")
]


def offline_previews(
    config: EnvironmentConfig, name: str | None, service: str | None
) -> list[Preview]:
    """`synth/check --preview NAME --service S`: one preview, no account (priority 1)."""
    if name is None:
        if service is not None:
            raise UserError("--service goes with --preview NAME (the service to copy)")
        return []
    return [new_preview(config, name, service=service, image_tag=None, ttl=None, now=now_utc())]


def _aws(env: str | None, env_file: Path | None, *, checked: bool = True) -> Any:
    """The environment's session, as every command gets it, once previews are set up."""
    from fargate_env.preview_spec import require_previews

    require_previews(load_env(env, env_file))
    return environment_aws(env, env_file, every=True, checked=checked)


def _when(moment: datetime) -> str:
    return moment.strftime("%m-%d %H:%M")


@preview_app.command("up")
@user_errors
def up(
    name: NameArgument,
    service: ServiceOption = None,
    image_tag: ImageTagOption = None,
    ttl: TtlOption = None,
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    out: OutOption = Path("cdk.out"),
):
    """Deploy or update preview NAME of a service; it ends after --ttl."""
    from fargate_env.ops.previews import preview_up
    from fargate_env.preview_spec import host
    from fargate_env.synth import refuse_foreign_directory

    refuse_foreign_directory(out)
    config = load_env(env, env_file)
    # Every input mistake before AWS is touched.
    new_preview(config, name, service=service, image_tag=image_tag, ttl=ttl, now=now_utc())
    aws = _aws(env, env_file, checked=False)
    preview, rc = preview_up(
        aws, name, service=service, image_tag=image_tag, ttl=ttl, outdir=out, now=now_utc(),
        progress=console.print,
    )  # fmt: skip
    if rc == 0:
        console.print(
            f"preview {name}: https://{host(config, name)} ({preview.service}:"
            f"{preview.image_tag}), deletes itself at {preview.expires:%Y-%m-%d %H:%M} UTC",
            highlight=False,
        )
    raise typer.Exit(rc)


@preview_app.command("list")
@user_errors
def list_(env: EnvOption = None, env_file: EnvFileOption = None):
    """Previews (from stack tags), their expiry and monthly cost."""
    from fargate_env.ops.previews import deployed_previews

    aws = _aws(env, env_file)
    with console.status("reading preview stacks"):
        previews = deployed_previews(aws, priced=True)
    if not previews:
        console.print(f"no previews in {aws.config.name} ({aws.region})")
        return
    columns = ["name", "service", "image", "created", "expires", render.right("USD/month")]
    table = render.table(f"previews of {aws.config.name} (times UTC)", columns)
    for item in previews:
        p = item.preview
        usd = "-" if item.monthly_usd is None else render.usd(item.monthly_usd)
        status = "" if item.status.endswith("_COMPLETE") else f" ({item.status.lower()})"
        table.add_row(
            p.name + status,
            p.service,
            p.image_tag[:12],
            _when(p.created),
            _when(item.expires),
            usd,
        )
    console.print(table)
    limit = aws.config.previews.max_active
    console.print(f"{len(previews)} of previews.max_active = {limit}", highlight=False)


@preview_app.command("extend")
@user_errors
def extend(
    name: NameArgument,
    ttl: Annotated[str, typer.Option("--ttl", help="New lifetime from now: 90m, 24h, 7d.")],
    env: EnvOption = None,
    env_file: EnvFileOption = None,
):
    """Move preview NAME's deletion to now + --ttl."""
    from fargate_env.ops.previews import preview_extend
    from fargate_env.preview_spec import check_name, check_ttl

    config = load_env(env, env_file)
    check_name(name)
    check_ttl(config, ttl)
    aws = _aws(env, env_file)
    expires = preview_extend(aws, name, ttl, now=now_utc())
    console.print(f"preview {name} now deletes itself at {expires:%Y-%m-%d %H:%M} UTC")


@preview_app.command("down")
@user_errors
def down(name: NameArgument, env: EnvOption = None, env_file: EnvFileOption = None):
    """Delete preview NAME now."""
    from fargate_env.ops.previews import preview_down
    from fargate_env.preview_spec import check_name

    check_name(name)
    aws = _aws(env, env_file)
    outcome = preview_down(aws, name, progress=console.print)
    render_outcome(outcome)
    if not outcome.ok:
        raise typer.Exit(1)
