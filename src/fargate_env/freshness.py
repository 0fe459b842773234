"""Whether a cloud assembly still shows its config and the code: a content hash of both is
recorded in the assembly when it is synthesized, and `cost` and `diagram` reuse the assembly
only while the hash still matches. Anything that shapes a template is in the hash: the
validated config, every module of this package, cdk.json's feature flags and the pinned CDK
library versions. Imports nothing heavy (no CDK), so the check costs milliseconds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from fargate_env.config import EnvironmentConfig
from fargate_env.paths import PROJECT_ROOT
from fargate_env.preview_spec import Preview

RECORD_FILE = "fargate-env.json"
CODE_ROOT = Path(__file__).resolve().parent
CDK_LIBRARIES = ("aws-cdk-lib", "constructs")


def find_cdk_json() -> Path:
    """cdk.json of the working directory, else the project's (the one the app reads)."""
    for candidate in (Path.cwd() / "cdk.json", PROJECT_ROOT / "cdk.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("cdk.json not found in the working directory or the project root")


def code_digest(root: Path | None = None) -> str:
    """Hash of every .py under the package (path and bytes), cdk.json and the CDK versions."""
    root = root or CODE_ROOT
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(find_cdk_json().read_bytes())
    for name in CDK_LIBRARIES:
        digest.update(f"{name}=={metadata.version(name)}".encode())
    return digest.hexdigest()


def fingerprint(config: EnvironmentConfig, previews: Sequence[Preview] = ()) -> str:
    digest = hashlib.sha256(config.model_dump_json().encode())
    for preview in previews:
        digest.update(repr(preview).encode())
    digest.update(code_digest().encode())
    return digest.hexdigest()


def record(outdir: Path, config: EnvironmentConfig, previews: Sequence[Preview] = ()) -> None:
    """Write the fingerprint into an assembly (before it is committed)."""
    payload = {"environment": config.name, "fingerprint": fingerprint(config, previews)}
    (Path(outdir) / RECORD_FILE).write_text(json.dumps(payload, indent=1) + "\n")


def staleness(outdir: Path, config: EnvironmentConfig) -> str | None:
    """None when `outdir` holds an assembly of exactly `config` (no previews) and this code;
    otherwise why it cannot be reused, in a few words."""
    record_file = Path(outdir) / RECORD_FILE
    if not (Path(outdir) / "manifest.json").is_file():
        return f"no assembly at {outdir}"
    try:
        recorded = json.loads(record_file.read_text())
    except (OSError, ValueError):
        return f"{outdir} has no fingerprint"
    if recorded.get("environment") != config.name:
        return f"{outdir} is of environment {recorded.get('environment')!r}"
    if recorded.get("fingerprint") != fingerprint(config):
        return f"the config or the code changed since {outdir} was synthesized"
    return None


def recall(outdir: Path, config: EnvironmentConfig, key: str) -> tuple[bool, Any]:
    """(True, value) when a fresh `outdir` holds a figure remembered under `key`."""
    if staleness(outdir, config) is not None:
        return False, None
    derived = json.loads((Path(outdir) / RECORD_FILE).read_text()).get("derived", {})
    return (key in derived), derived.get(key)


def remember(outdir: Path, config: EnvironmentConfig, key: str, value: Any) -> None:
    """Keep a figure computed from `config` and this code alone (e.g. a cost probe) in a fresh
    `outdir`'s record; a stale or missing assembly keeps nothing."""
    if staleness(outdir, config) is not None:
        return
    record_file = Path(outdir) / RECORD_FILE
    data = json.loads(record_file.read_text())
    data.setdefault("derived", {})[key] = value
    record_file.write_text(json.dumps(data, indent=1) + "\n")
