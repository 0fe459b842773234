"""`plan`: what a deploy would do to the environment, stack by stack, before it does it.

The synthesized assembly (new) is compared with what is deployed (old): the stacks carrying the
environment's tags with their templates from CloudFormation GetTemplate, or, with `--against
DIR`, another cloud assembly (offline). Per stack: create, update, delete (an orphan: tagged
with the environment, no longer in the assembly) or unchanged; the resources added, removed
and modified; the resources holding data that a change would replace or delete (and what is
lost); and the exports CloudFormation would refuse to remove because another stack still
imports them, found by playing the deploy's steps in order (see `_simulate`).

What counts as a change is what CloudFormation acts on: a resource's Type, Properties,
DependsOn (as a set), Condition and its policies (Deletion/UpdateReplace/Creation/Update), and
the stack's Outputs. Not compared: the CDK metadata resource (AWS::CDK::Metadata, analytics)
and each resource's Metadata (`aws:cdk:path`, `aws:asset:*`): CloudFormation never updates a
resource for its Metadata alone. Asset hashes inside Properties (a handler's S3Key) are
compared: a new hash is new code in the deployed resource. Parameters, Rules and Conditions
sections are CDK's bootstrap check, the same in every stack: not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargate_env.assembly import Environment, Resource, Stack, read_environment
from fargate_env.config import COST_TAG, EnvironmentConfig
from fargate_env.config.limits import DATA_HOLDING, KEEPING_POLICIES
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, deployed_template
from fargate_env.preview_spec import TAG_PREVIEW

MANAGED_BY = ("managed-by", "fargate-env")
# What a retained data-holding resource that is replaced keeps (and the new one lacks).
RETAINED_NOTE = "(stay in the retained old one; the new one starts empty)"
# A stack in these states holds no resources yet: deploying it creates them.
NOT_CREATED = {"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"}


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replaced:
    """A resource holding data that the deploy replaces or deletes, and what goes with it."""

    resource: str
    type: str
    loses: str

    def to_json(self) -> dict[str, str]:
        return {"resource": self.resource, "type": self.type, "loses": self.loses}


@dataclass
class StackChange:
    stack: str
    action: str  # create | update | delete | unchanged
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    replaced: list[Replaced] = field(default_factory=list)
    # Orphans only: what the stack costs a month now (None: could not be priced).
    monthly_usd: float | None = None
    outputs_changed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "action": self.action,
            "added": self.added,
            "removed": self.removed,
            "modified": self.modified,
            "replaced": [r.to_json() for r in self.replaced],
            "monthly_usd": None if self.monthly_usd is None else round(self.monthly_usd, 2),
        }


@dataclass(frozen=True)
class ExportInUse:
    """CloudFormation's refusal to come: `exporter` loses `export` while `importer` uses it."""

    export: str
    exporter: str
    importer: str

    def to_json(self) -> dict[str, str]:
        return {"export": self.export, "exporter": self.exporter, "importer": self.importer}


@dataclass(frozen=True)
class Unreleasable:
    """A stack that must drop an orphan's imports before the orphan goes, but whose new
    template imports an export no deployed stack has yet (a service added at the same time)."""

    stack: str
    export: str


@dataclass
class Plan:
    environment: str
    stacks: list[StackChange]
    export_in_use: list[ExportInUse] = field(default_factory=list)
    # Kept stacks updated before the orphans are deleted: they import an orphan's exports.
    release: list[str] = field(default_factory=list)
    unreleasable: list[Unreleasable] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return any(s.action != "unchanged" for s in self.stacks)

    @property
    def orphans(self) -> list[StackChange]:
        """In deletion order: a stack importing another orphan's export goes first."""
        return [s for s in self.stacks if s.action == "delete"]

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "stacks": [s.to_json() for s in self.stacks],
            "export_in_use": [e.to_json() for e in self.export_in_use],
        }


@dataclass(frozen=True)
class Deployed:
    """A stack as it is deployed: its template body (GetTemplate's) and its tags."""

    template: dict
    tags: dict[str, str]
    created: bool = True

    def stack(self, name: str) -> Stack:
        return Stack.from_template(name, self.template, self.tags)


def _comparable(resource: Resource) -> tuple:
    """What CloudFormation acts on when it changes (Metadata alone: never)."""
    return (
        resource.type,
        resource.properties,
        sorted(resource.depends_on),
        resource.deletion_policy,
        resource.update_replace_policy,
        resource.attributes_acted_on,
    )


def _lost(lid: str, resource: Resource, replaced_by_new: bool = False) -> Replaced | None:
    """A data-holding resource leaving the stack: what is lost. One that is retained keeps its
    data, so it is named only when a new one takes its place (a changed logical id): the
    service then starts on an empty one."""
    rtype = resource.type
    if rtype not in DATA_HOLDING:
        return None
    what = DATA_HOLDING[rtype][0]
    if resource.deletion_policy not in KEEPING_POLICIES:
        return Replaced(lid, rtype, what)
    return Replaced(lid, rtype, f"{what} {RETAINED_NOTE}") if replaced_by_new else None


def _replaced(lid: str, old: Resource, new: Resource) -> Replaced | None:
    """A data-holding resource whose create-only property changes: CloudFormation creates a
    new one and deletes the old one (unless its UpdateReplacePolicy keeps it)."""
    rtype = new.type
    if rtype not in DATA_HOLDING:
        return None
    what, create_only = DATA_HOLDING[rtype]
    if old.type == rtype and all(old.get(p) == new.get(p) for p in create_only):
        return None
    kept = new.update_replace_policy in KEEPING_POLICIES
    return Replaced(lid, rtype, f"{what} {RETAINED_NOTE}" if kept else what)


def compare_stack(name: str, old: Stack | None, new: Stack | None) -> StackChange:
    """One stack: `old` as deployed (None: not deployed), `new` as synthesized (None: no
    longer in the assembly, an orphan)."""
    if new is None:
        resources = old.deployable() if old else {}
        lost = [r for lid, res in resources.items() if (r := _lost(lid, res))]
        return StackChange(name, "delete", removed=sorted(resources), replaced=lost)
    after = new.deployable()
    if old is None:
        return StackChange(name, "create", added=sorted(after))
    before = old.deployable()
    change = StackChange(name, "unchanged")
    change.added = sorted(set(after) - set(before))
    change.removed = sorted(set(before) - set(after))
    change.modified = sorted(
        lid
        for lid in set(after) & set(before)
        if _comparable(after[lid]) != _comparable(before[lid])
    )
    added_types = {after[lid].type for lid in change.added}
    change.replaced = [
        r
        for lid in change.removed
        if (r := _lost(lid, before[lid], before[lid].type in added_types))
    ]
    change.replaced += [
        r for lid in change.modified if (r := _replaced(lid, before[lid], after[lid]))
    ]
    change.outputs_changed = old.outputs != new.outputs
    if change.added or change.removed or change.modified or change.outputs_changed:
        change.action = "update"
    return change


def deletion_order(orphans: dict[str, Stack]) -> list[str]:
    """Orphans (name -> deployed stack) so that a stack importing another's export is
    deleted before it; otherwise by name."""
    exports = {name: set(t.exports) for name, t in orphans.items()}
    imports = {name: set(t.imports) for name, t in orphans.items()}
    left, order = sorted(orphans), []
    while left:
        free = [
            name
            for name in left
            if not any(exports[name] & imports[other] for other in left if other != name)
        ]
        step = free[:1] or left[:1]  # a cycle cannot be deployed; never loop forever
        order += step
        left = [name for name in left if name not in step]
    return order


def _simulate(
    old: dict[str, Deployed],
    new: Sequence[Stack],
    orphans: list[str],
    targets: set[str] | None,
) -> tuple[list[str], list[Unreleasable], list[ExportInUse]]:
    """Play the deploy's steps on the exports and imports, as CloudFormation checks them:

      1. release: each kept stack whose deployed template imports an orphan's export is
         updated first (its new template no longer does);
      2. the orphans are deleted, importers first;
      3. `cdk deploy` updates and creates the rest in the assembly's (dependency) order.

    An update that drops an export, or a delete of a stack with exports, is refused while any
    other stack still imports one. Returns (release, unreleasable, export-in-use)."""
    new_by_name = {s.name: s for s in new}
    exports = {n: set(d.stack(n).exports) for n, d in old.items() if d.created}
    imports = {n: set(d.stack(n).imports) for n, d in old.items() if d.created}
    orphan_exports = set().union(*(exports.get(o, set()) for o in orphans))
    release = [s.name for s in new if s.name in imports and imports[s.name] & orphan_exports]
    in_use: list[ExportInUse] = []
    unreleasable: list[Unreleasable] = []

    def refused(stack: str, gone: Iterable[str]) -> None:
        for export in sorted(gone):
            for importer in sorted(
                n for n, used in imports.items() if n != stack and export in used
            ):
                in_use.append(ExportInUse(export, stack, importer))

    def update(stack: str) -> None:
        synthesized = new_by_name[stack]
        refused(stack, exports.get(stack, set()) - set(synthesized.exports))
        exports[stack], imports[stack] = set(synthesized.exports), set(synthesized.imports)

    available = set().union(*exports.values()) - orphan_exports
    for stack in release:
        for export in sorted(set(new_by_name[stack].imports) - available):
            unreleasable.append(Unreleasable(stack, export))
        update(stack)
    for orphan in orphans:
        refused(orphan, exports.pop(orphan, set()))
        imports.pop(orphan, None)
    for stack in new:
        if stack.name not in release and (targets is None or stack.name in targets):
            update(stack.name)
    return release, unreleasable, in_use


def make_plan(
    environment: str,
    new: Sequence[Stack],
    old: dict[str, Deployed],
    *,
    price: Any = None,
    targets: set[str] | None = None,
) -> Plan:
    """Compare the assembly `new` with the deployed (or baseline) stacks `old`, which holds
    only the environment's own stacks (previews left out). `price(orphans)`: name -> monthly
    USD of each orphan's deployed template. `targets`: the stacks this deploy updates (None:
    all); the others are left out of the rows and of the simulation."""
    names = {s.name for s in new}
    orphans = deletion_order({n: d.stack(n) for n, d in old.items() if n not in names})
    costs = price(orphans) if price and orphans else {}
    rows = []
    for name in orphans:
        row = compare_stack(name, old[name].stack(name), None)
        row.monthly_usd = costs.get(name)
        rows.append(row)
    for stack in new:
        if targets is not None and stack.name not in targets:
            continue
        deployed = old.get(stack.name)
        before = deployed.stack(stack.name) if deployed and deployed.created else None
        rows.append(compare_stack(stack.name, before, stack))
    release, unreleasable, in_use = _simulate(old, new, orphans, targets)
    return Plan(environment, rows, in_use, release, unreleasable)


# --- the two sides ------------------------------------------------------------------------


def ours(config: EnvironmentConfig, tags: dict[str, str]) -> bool:
    """A stack of this environment that fargate-env created, and not a preview (previews are
    never in the assembly: `preview down` and their schedule delete them)."""
    return (
        tags.get(COST_TAG) == config.name
        and tags.get(MANAGED_BY[0]) == MANAGED_BY[1]
        and TAG_PREVIEW not in tags
    )


def deployed_stacks(aws: Aws) -> dict[str, Deployed]:
    """The environment's deployed stacks (not previews) with their templates (GetTemplate)."""
    from fargate_env.ops.destroy import our_stacks

    found: dict[str, Deployed] = {}
    for name, live in our_stacks(aws).items():
        if not ours(aws.config, live.tags):
            continue
        template = deployed_template(aws, name)
        found[name] = Deployed(template, live.tags, created=live.status not in NOT_CREATED)
    return found


def baseline_stacks(config: EnvironmentConfig, against: Path) -> dict[str, Deployed]:
    """`--against DIR`: the environment's stacks in another cloud assembly."""
    if not (Path(against) / "manifest.json").is_file():
        raise UserError(
            f"--against {against}: no manifest.json there; name a cloud assembly directory"
            " (the --out of an earlier synth)"
        )
    try:
        stacks = read_environment(against)
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"--against {against}: not a readable cloud assembly ({exc})") from None
    return {s.name: Deployed(s.body(), dict(s.tags)) for s in stacks if ours(config, dict(s.tags))}


def orphan_prices(
    config: EnvironmentConfig, region: str, new: Sequence[Stack], old: dict[str, Deployed]
):
    """price(orphans) for make_plan: each orphan's deployed template priced with the cost model,
    beside the stacks that stay (a repository's service is found through them)."""
    from fargate_env.cost.estimate import estimate

    def price(orphans: list[str]) -> dict[str, float | None]:
        gone = [old[n].stack(n) for n in orphans]
        try:
            bill = estimate(Environment([*new, *gone], region), region, config.cost.usage)
        except (KeyError, TypeError, ValueError):  # a template the estimator cannot read
            return {}
        return {n: sum(line.monthly_usd for line in bill.lines if line.stack == n) for n in orphans}

    return price


# --- the `plan` command's work ------------------------------------------------------------


def plan_against(config: EnvironmentConfig, outdir: Path, against: Path) -> Plan:
    """The assembly synthesized into `outdir` against another assembly `against` (offline).
    The baseline is read first: `--against` may name `--out` itself (the last synth)."""
    from fargate_env.assembly import assembly_region
    from fargate_env.synth import synthesize

    old = baseline_stacks(config, against)
    new = synthesize(config, outdir, validation=False)
    price = orphan_prices(config, assembly_region(outdir), new, old)
    return make_plan(config.name, new, old, price=price)


def plan_deployed(aws: Aws, outdir: Path, progress: Any = lambda _: None) -> tuple[Plan, list[Any]]:
    """The assembly a plain `deploy` would synthesize (every deployed service on the tag it
    runs) against what is deployed. Returns the plan and the tags kept (ops.status.Kept)."""
    from fargate_env.ops.status import keep_running_tags
    from fargate_env.synth import synthesize

    progress("reading the running image tags (ECS)")
    config, kept = keep_running_tags(aws, aws.config, except_service=None)
    progress("synthesizing")
    new = synthesize(config, outdir, validation=False)
    progress("reading the deployed stacks (CloudFormation)")
    old = deployed_stacks(aws)
    plan = make_plan(config.name, new, old, price=orphan_prices(config, aws.region, new, old))
    return plan, kept
