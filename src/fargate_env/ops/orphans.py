"""`deploy --prune`: orphans go before the deploy, without a CloudFormation refusal midway.

An orphan is a stack tagged with the environment that is no longer in the assembly (a
service removed from the file). `cdk deploy --all` never touches it: it keeps running,
billing and holding its listener rule, and the registry's update fails on the export the
orphan still imports. `deploy` refuses while there are orphans; with `--prune`:

  1. release: the kept stacks whose deployed templates import an orphan's exports (the
     monitoring stack reads every service's) are deployed first, alone (`--exclusively`),
     so that CloudFormation lets the orphan's exports go;
  2. the orphans are deleted one at a time, importers first, waiting for each (the same
     waiting and time limits as `destroy`);
  3. the deploy proceeds as without orphans.

Refused before anything changes: the export-in-use rejections ops.plan predicts, and a
stack that cannot be released first (its new template imports what this deploy creates).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws
from fargate_env.ops.plan import Plan
from fargate_env.ops.runner import Runner
from fargate_env.paths import PROJECT_ROOT


class PruneFailed(UserError):
    """An orphan could not be deleted after the deploy began changing things."""

    exit_code = 1


def _usd(value: float | None) -> str:
    return "not priced" if value is None else f"${value:,.2f}/month"


def orphan_names(plan: Plan) -> str:
    """'demo-service-api ($12.34/month), ...'"""
    return ", ".join(f"{o.stack} ({_usd(o.monthly_usd)})" for o in plan.orphans)


def refuse_unsafe(plan: Plan, *, prune: bool, env: str) -> None:
    """Refuse, in one line and before anything changes, what CloudFormation would refuse
    midway, and orphans without --prune."""
    if plan.orphans and not prune:
        raise UserError(
            f"{len(plan.orphans)} stack(s) of environment {env} are no longer in the file:"
            f" {orphan_names(plan)}; run deploy again with --prune to delete them first"
            " (`fargate-env plan` lists what goes)"
        )
    if plan.export_in_use:
        first = plan.export_in_use[0]
        more = len(plan.export_in_use) - 1
        raise UserError(
            f"CloudFormation would refuse this deploy midway: {first.exporter} drops export"
            f" {first.export} while {first.importer} still imports it"
            f"{f' (and {more} more)' if more else ''}; deploy {first.importer} without that"
            f" import first, then this change (`fargate-env plan` lists them all)"
        )
    if prune and plan.unreleasable:
        first = plan.unreleasable[0]
        raise UserError(
            f"{first.stack} must stop importing the orphans' exports before they are deleted,"
            f" but its new template also imports {first.export}, which this deploy creates:"
            " remove and add services in two deploys (remove first, with --prune)"
        )


def prune(
    aws: Aws,
    plan: Plan,
    outdir: Path,
    *,
    runner: Runner,
    cdk_deploy: Callable[[Path, list[str]], list[str]],
    progress: Callable[[str], None] = lambda _: None,
    **waiting: object,
) -> None:
    """Release, then delete the orphans in order, each waited for; PruneFailed on a failure
    (the deploy then does not run)."""
    from fargate_env.ops.destroy import Plan as Deletion
    from fargate_env.ops.destroy import Stage, delete_stages

    if not plan.orphans:
        return
    if plan.release:
        progress(f"updating {', '.join(plan.release)} first: it imports what the orphans export")
        rc = runner(cdk_deploy(outdir, [*plan.release, "--exclusively"]), cwd=PROJECT_ROOT)
        if rc:
            raise PruneFailed(
                f"cdk deploy of {', '.join(plan.release)} exited {rc}: no orphan was deleted;"
                " fix what cdk reported and deploy again with --prune"
            )
    stages = [Stage("orphan", [o.stack]) for o in plan.orphans]
    outcome = delete_stages(aws, Deletion(stages), progress=progress, **waiting)  # type: ignore[arg-type]
    if outcome.failed:
        stack, reason = next(iter(outcome.failed.items()))
        left = ", ".join(outcome.left) or "none"
        raise PruneFailed(
            f"deleting orphan {stack} failed ({reason}); still there: {left}; nothing else"
            " was deployed: fix it and deploy again with --prune"
        )
