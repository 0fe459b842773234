"""What the operations commands print (kept out of the CLI so commands stay a few lines);
the shape of tables and lines is fargate_env.render's."""

from __future__ import annotations

from collections import Counter

from rich.console import Console

from fargate_env import render
from fargate_env.ops.failover import FailoverReport
from fargate_env.ops.load import LoadReport
from fargate_env.ops.plan import Plan
from fargate_env.ops.rightsize import Recommendation
from fargate_env.ops.run_job import JobRun
from fargate_env.ops.scale_test import ScaleReport
from fargate_env.ops.status import ServiceStatus
from fargate_env.ops.verify import Check

PASS, FAIL = render.verdict(True), render.verdict(False)


def checks(console: Console, title: str, results: list[Check]) -> None:
    table = render.table(title, ["service", "check", "result", ("detail", {"overflow": "fold"})])
    for check in results:
        table.add_row(check.service, check.name, PASS if check.ok else FAIL, check.detail)
    console.print(table)


def load(console: Console, report: LoadReport, max_error_rate: float | None = None) -> None:
    """The load table, errors by cause, what the percentiles cover, and the verdict if bounded."""
    columns = ("requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms")
    table = render.table(f"load: {report.url}", [render.right(c) for c in columns])
    # With nothing answered there is no latency: a dash, never a reassuring 0.0.
    latencies = [f"{report.percentile_ms(p):.1f}" if report.answered else "-" for p in (50, 95, 99)]
    table.add_row(str(report.requests), str(report.errors), f"{report.rate:.1f}", *latencies)
    console.print(table)
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(report.statuses.items()))
    console.print(f"{report.duration_s:.1f} s; status codes {codes or 'none'}", highlight=False)
    if report.errors:
        causes = ", ".join(f"{cause}: {n}" for cause, n in report.error_breakdown())
        console.print(f"errors: {causes}", highlight=False)
    ok = report.ok_status
    if report.answered:
        console.print(f"p50/p95/p99 over {report.answered} answered ({ok})", highlight=False)
    else:
        console.print(f"no request was answered with {ok}: no latency to report")
    if max_error_rate is not None:
        passed = report.within(max_error_rate)
        console.print(
            f"{PASS if passed else FAIL}: {report.errors} of {report.requests} requests failed"
            f" ({report.error_rate:.2%}), {'within' if passed else 'over'}"
            f" --max-error-rate {max_error_rate:g}",
            highlight=False,
        )


def failover(console: Console, report: FailoverReport) -> None:
    title = f"failover of {report.service}: stopped {report.stopped_task}"
    table = render.table(title, [render.right("t (s)"), "event"])
    for t, event in report.timeline:
        table.add_row(f"{t:.0f}", event)
    console.print(table)
    if report.recovered_s is None:
        console.print(f"[red]not recovered[/] within the {report.bound_s} s bound")
    else:
        verdict = PASS if report.ok else FAIL
        render.paragraph(
            console,
            f"{verdict} recovered in {report.recovered_s:.0f} s (bound {report.bound_s} s:"
            " task launch + container start period + healthy_threshold x interval)",
        )


def scale(console: Console, report: ScaleReport) -> None:
    title = f"scale-test of {report.service}: started at desired {report.initial_desired}"
    table = render.table(title, [render.right(c) for c in ("t (s)", "desired", "running")])
    for t, desired, running in report.timeline:
        table.add_row(f"{t:.0f}", str(desired), str(running))
    console.print(table)
    if report.load is not None:
        load(console, report.load)
    out = f"{report.scaled_out_s:.0f} s" if report.scaled_out_s is not None else "never"
    back = f"{report.scaled_in_s:.0f} s" if report.scaled_in_s is not None else "not within bound"
    console.print(f"scaled out: {out} (peak desired {report.peak_desired}); scaled in: {back}")
    if report.restored_from is not None:
        console.print(
            f"restored desired count {report.restored_from} -> {report.initial_desired} (as found)"
        )


def rightsize(console: Console, rec: Recommendation, days: int) -> None:
    title = f"{rec.service}: utilisation over {days} days (% of the current size)"
    columns = ("metric", "datapoints", "p95 %", "max %")
    table = render.table(title, [render.right(c) for c in columns])
    for usage in (rec.cpu, rec.memory):
        table.add_row(usage.metric, str(usage.datapoints), f"{usage.p95:.1f}", f"{usage.max:.1f}")
    console.print(table)
    cpu, mem = rec.current
    console.print(f"current: {cpu} cpu / {mem} MiB, ${rec.current_monthly_usd:.2f}/month")
    if rec.recommended is not None and rec.monthly_delta_usd is not None:
        new_cpu, new_mem = rec.recommended
        render.paragraph(
            console,
            f"recommended: {new_cpu} cpu / {new_mem} MiB,"
            f" ${rec.recommended_monthly_usd:.2f}/month ({rec.monthly_delta_usd:+.2f} USD/month"
            f" at {rec.tasks} task(s) always on)",
        )
    render.paragraph(console, rec.note)
    render.paragraph(
        console,
        f"nothing was changed: set services.{rec.service}.cpu / .memory and deploy"
        f" (--service {rec.service}) to apply",
    )


# --- plan and status ------------------------------------------------------------------------

ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red", "unchanged": "dim"}


def _money(value: float | None) -> str:
    return "not priced" if value is None else f"{render.dollars(value)}/month"


def _ids(ids: list[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "")


def plan(console: Console, result: Plan, title: str, *, detail: bool = True) -> None:
    """The stacks and what happens to each; with `detail`, the resources of each update."""
    table = render.table(title)
    table.add_column("stack", overflow="fold")
    table.add_column("action")
    for column in ("+", "-", "~"):
        table.add_column(column, justify="right")
    table.add_column("note", overflow="fold")
    for row in result.stacks:
        note = ""
        if row.action == "delete":
            note = f"orphan, {_money(row.monthly_usd)}"
        elif row.replaced:
            note = f"replaces {len(row.replaced)} holding data"
        elif row.outputs_changed:
            note = "and outputs" if row.added or row.removed or row.modified else "outputs only"
        counts = [str(len(ids)) if ids else "" for ids in (row.added, row.removed, row.modified)]
        style = ACTION_STYLE[row.action]
        table.add_row(row.stack, f"[{style}]{row.action}[/]", *counts, note)
    console.print(table)
    if detail:
        for row in result.stacks:
            if row.action != "update":
                continue
            for sign, ids in (("+", row.added), ("-", row.removed), ("~", row.modified)):
                if ids:
                    console.print(f"  {row.stack} {sign} {_ids(ids)}", highlight=False)
    for row in result.stacks:
        for lost in row.replaced:
            verb = (
                "deletes" if row.action == "delete" or lost.resource in row.removed else "replaces"
            )
            console.print(
                f"[bold red]data:[/] {row.stack} {verb} {lost.resource} ({lost.type}):"
                f" loses {lost.loses}",
                highlight=False,
            )
    for use in result.export_in_use:
        console.print(
            f"[bold red]refused by CloudFormation:[/] {use.exporter} drops export {use.export}"
            f" while {use.importer} imports it",
            highlight=False,
        )
    console.print(plan_totals(result), highlight=False)
    if result.orphans:
        console.print(
            "orphans: `fargate-env deploy --prune` deletes them first"
            + (f" (after updating {', '.join(result.release)})" if result.release else ""),
            highlight=False,
        )


def plan_totals(result: Plan) -> str:
    counts = Counter(row.action for row in result.stacks)
    parts = [f"{counts[a]} to {a}" for a in ("create", "update", "delete") if counts[a]]
    orphan_usd = [r.monthly_usd for r in result.orphans if r.monthly_usd is not None]
    if result.orphans and orphan_usd:
        parts[-1] += f" ({_money(sum(orphan_usd))} saved)"
    parts.append(f"{counts['unchanged']} unchanged")
    return "plan: " + ", ".join(parts)


def status(console: Console, rows: list[ServiceStatus], title: str) -> None:
    """One row per service; a job's last column is its last run, not a deployment. Below the
    table: where each backend is reached and each job's schedule."""
    table = render.table(title)
    for column in ("service", "kind", "file tag", "running tag", "tasks", "last deployment"):
        table.add_column(column, overflow="fold")
    for row in rows:
        running = row.running_tag or ("-" if row.deployed else "not deployed")
        if row.running_tag and row.running_tag != row.file_tag:
            running = f"[yellow]{running}[/]"
        last = row.last_deployment
        when = last.updated.strftime("%m-%d %H:%M") if last and last.updated else ""
        deployment = f"{last.rollout or last.status} {when}".strip() if last else "-"
        tasks = f"{row.running}/{row.desired}" if row.deployed else "-"
        if row.kind == "job":
            deployment = f"run: {row.last_run.describe()}" if row.last_run else "no run listed"
            tasks = str(row.running) if row.deployed else "-"
        table.add_row(row.service, row.kind, row.file_tag, running, tasks, deployment)
    console.print(table)
    for row in rows:
        if row.reach:
            console.print(f"{row.service}: reached at {row.reach} inside the environment")
        if row.kind == "job" and row.deployed:
            schedule = row.schedule.describe() if row.schedule else "schedule not found"
            console.print(f"{row.service}: {schedule}", highlight=False)
            if row.last_run and row.last_run.reason:
                console.print(f"  last run: {row.last_run.reason}", highlight=False)


def job_run(console: Console, run: JobRun) -> None:
    """The run's verdict and exit code, then where its output went."""
    minutes, seconds = divmod(round(run.seconds), 60)
    took = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    code = "no exit code" if run.exit_code is None else f"exit code {run.exit_code}"
    console.print(f"{PASS if run.ok else FAIL}: {run.name}: {code} after {took}", highlight=False)
    if run.reason:
        console.print(f"reason: {run.reason}", highlight=False)
    console.print(f"task: {run.task_id}", highlight=False)
    console.print(f"logs: {run.log_group} (aws logs tail {run.log_group})", highlight=False)
