"""Synthesize an environment into a cloud assembly without leaving a half-written one behind."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fargate_env.assembly import Environment, read_environment
from fargate_env.config import EnvironmentConfig
from fargate_env.errors import UserError
from fargate_env.freshness import record, staleness
from fargate_env.preview_spec import Preview

if TYPE_CHECKING:  # the CDK (seconds of jsii start-up) loads only when something synthesizes
    import aws_cdk as cdk

# What a cloud assembly directory holds: what `cdk synth` / `app.synth()` write, plus the
# outputs file `cdk deploy --outputs-file` adds. Only a directory made of these may be replaced.
ASSEMBLY_FILES = (
    "manifest.json",
    "cdk.out",
    "tree.json",
    "outputs.json",
    "validation-report.json",
    "fargate-env.json",
    "*.template.json",
    "*.assets.json",
    "*.metadata.json",
    "asset.*",
)
# What the pinned CDK CLI (2.1148) adds to an assembly it deploys: `.cache/` (its file-asset
# packaging cache) and, when it is killed mid-run, its reader locks `read.<pid>.<n>.lock`.
# Without these, every deploy after the first was refused (issue 19).
CLI_DIRECTORIES = (".cache",)
CLI_FILES = ("read.*.*.lock",)


def _assembly_entry(path: Path) -> bool:
    """Whether `path` (inside an assembly directory) is something CDK or its CLI wrote."""
    name = path.name
    if any(fnmatch.fnmatchcase(name, g) for g in ASSEMBLY_FILES):
        return True
    if path.is_dir() and not path.is_symlink():
        return name in CLI_DIRECTORIES
    return path.is_file() and any(fnmatch.fnmatchcase(name, g) for g in CLI_FILES)


def refuse_foreign_directory(outdir: Path) -> None:
    """Only an absent or empty directory, or one holding a cloud assembly, may be replaced.

    `--out .`, `--out environments` or `--out mydata` must never cost a user a file.
    """
    if outdir.is_symlink():
        raise UserError(f"--out {outdir}: is a symbolic link; name a real directory")
    if not outdir.exists():
        return
    if not outdir.is_dir():
        raise UserError(f"--out {outdir}: is a file; choose a directory")
    paths = sorted(outdir.iterdir())
    entries = [p.name for p in paths]
    if not entries:
        return
    foreign = [p.name for p in paths if not _assembly_entry(p)]
    if foreign or "manifest.json" not in entries:
        example = foreign[0] if foreign else entries[0]
        raise UserError(
            f"--out {outdir}: holds {example!r}, which is not part of a cloud assembly;"
            " refusing to replace it (choose an empty or new directory, e.g. --out cdk.out)"
        )


class StagedAssembly:
    """A scratch directory beside `outdir` that replaces it only on `commit()`.

    Anything that fails before the commit leaves `outdir` exactly as it was, and `outdir` is
    replaced only when it is empty or holds a cloud assembly (checked before and at commit).
    """

    def __init__(self, outdir: Path) -> None:
        self.outdir = Path(outdir)
        refuse_foreign_directory(self.outdir)
        try:
            self.outdir.parent.mkdir(parents=True, exist_ok=True)
            # Absolute: jsii's node process keeps the directory it started in.
            self.path = Path(tempfile.mkdtemp(prefix=".synth-", dir=self.outdir.parent)).resolve()
        except OSError as exc:
            raise UserError(
                f"--out {self.outdir}: cannot write there ({exc.strerror}); choose a writable"
                " directory"
            ) from None

    def commit(self) -> None:
        refuse_foreign_directory(self.outdir)
        if self.outdir.exists():
            # Move the old assembly aside first: a failed rename never leaves neither behind.
            old = Path(tempfile.mkdtemp(prefix=".synth-old-", dir=self.outdir.parent))
            self.outdir.rename(old / "assembly")
            self.path.rename(self.outdir)
            shutil.rmtree(old)
        else:
            self.path.rename(self.outdir)

    def __enter__(self) -> StagedAssembly:
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def synthesize(
    config: EnvironmentConfig,
    outdir: Path,
    *,
    validation: bool = True,
    previews: Sequence[Preview] = (),
) -> Environment:
    """Synthesize into a staging directory, then swap it into `outdir` only on success."""
    from fargate_env.app import build_app

    with StagedAssembly(outdir) as staged:
        synth_app(
            build_app(config, staged.path, validation=validation, previews=previews).app,
            staged.path,
        )
        record(staged.path, config, previews)
        staged.commit()
    return read_environment(outdir)


# Where `synth` and `check` leave the assembly that `cost` and `diagram` may reuse.
DEFAULT_ASSEMBLY = Path("cdk.out")


@contextlib.contextmanager
def assembly_of(
    config: EnvironmentConfig, say: Callable[[str], None], reuse: Path | None = None
) -> Iterator[Path]:
    """An assembly of `config` (no previews): `reuse` (./cdk.out) while its recorded
    fingerprint matches the config and the code, else a fresh synthesis (CDK validation off)
    into a scratch directory that is removed afterwards. `say` hears which happened."""
    reuse = reuse or DEFAULT_ASSEMBLY
    reason = staleness(reuse, config)
    if reason is None:
        say(f"reading {reuse}: synthesized from this config and code")
        yield reuse
        return
    say(f"synthesizing ({reason})")
    with tempfile.TemporaryDirectory(prefix="fargate-env-assembly-") as tmp:
        outdir = Path(tmp) / "cdk.out"
        synthesize(config, outdir, validation=False)
        yield outdir


def synth_app(app: cdk.App, outdir: Path) -> None:
    """app.synth(), with CDK's validation report (dozens of lines echoed on stderr, pointing at
    a staging directory about to be deleted) turned into one UserError naming the first
    violation and its construct. Whatever CDK prints on success is passed on."""
    held = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    saved = sys.stderr
    sys.stderr = held
    try:
        app.synth()
    except RuntimeError as exc:
        time.sleep(0.1)  # jsii's stderr thread may still be echoing the report
        line = first_violation(outdir / "validation-report.json")
        if "ValidationFailed" not in str(exc) or line is None:
            raise
        raise UserError(f"synthesis failed: {line}") from None
    finally:
        sys.stderr = saved
    held.flush()
    if echoed := held.buffer.getvalue():  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(echoed.decode("utf-8", "replace"))


def first_violation(report_file: Path) -> str | None:
    """ "DESCRIPTION (construct path)" of the first violation in a CDK validation report."""
    try:
        report = json.loads(report_file.read_text())
    except (OSError, ValueError):
        return None
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            where = [c.get("constructPath", "") for c in violation.get("violatingConstructs", [])]
            suffix = f" ({where[0]})" if where and where[0] else ""
            return f"{violation.get('description', violation.get('ruleName', '?'))}{suffix}"
    return None
