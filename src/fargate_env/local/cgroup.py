"""Cap a process at a Fargate task's CPU and memory with cgroups, when the machine allows it.

cgroup v1 (cpu + memory hierarchies, writable as root) is what these machines offer; v2 is tried
too. Anything else degrades to "uncapped" with the reason, never to a failure.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000


def _own_v1_path(controller: str) -> str:
    """Our process's cgroup in a v1 hierarchy ("/" at the root), so new groups nest under it
    and stay inside whatever limits the machine already puts on us."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                return path
    return "/"


@dataclass
class Cgroup:
    """One capped group; `paths` are the directories to write the pid into and remove later."""

    name: str
    cpu_units: int
    memory_mib: int
    paths: list[Path] = field(default_factory=list)
    version: int = 1

    @property
    def procs_files(self) -> list[Path]:
        return [p / "cgroup.procs" for p in self.paths]

    def add_self(self) -> None:
        """Move the calling process into the group (used in a child's preexec_fn, so the
        service is capped from its first instruction, start-up included)."""
        pid = str(os.getpid())
        for procs in self.procs_files:
            procs.write_text(pid)

    def add(self, pid: int) -> None:
        for procs in self.procs_files:
            procs.write_text(str(pid))

    def remove(self, timeout: float = 2.0) -> None:
        """rmdir the group; the kernel refuses while a process is still in it, so retry briefly."""
        deadline = time.monotonic() + timeout
        for path in self.paths:
            while path.exists():
                try:
                    path.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


@dataclass
class Capper:
    """Creates capped groups; `reason` says why capping is off when `available` is False."""

    available: bool
    reason: str
    version: int = 0
    root: Path = CGROUP_ROOT

    @classmethod
    def detect(cls, root: Path = CGROUP_ROOT) -> Capper:
        if os.environ.get("FARGATE_ENV_NO_CGROUP"):
            return cls(False, "disabled by FARGATE_ENV_NO_CGROUP", 0, root)
        v1_cpu, v1_mem = root / "cpu", root / "memory"
        if (v1_cpu / "cpu.cfs_quota_us").exists() and (v1_mem / "memory.limit_in_bytes").exists():
            probe = cls(True, "cgroup v1", 1, root)
            return probe._probe()
        if (root / "cgroup.controllers").exists():
            probe = cls(True, "cgroup v2", 2, root)
            return probe._probe()
        return cls(False, f"no cgroup v1 cpu/memory or v2 hierarchy under {root}", 0, root)

    def _probe(self) -> Capper:
        """Create and remove a throw-away group: proves we may write, not just read."""
        try:
            group = self.create("probe", 256, 512)
        except OSError as exc:
            return Capper(
                False, f"{self.reason} not writable ({exc.strerror or exc})", 0, self.root
            )
        group.remove()
        return self

    def create(self, label: str, cpu_units: int, memory_mib: int) -> Cgroup:
        """A group capped at cpu_units/1024 of a CPU and memory_mib MiB (Fargate's units)."""
        name = f"fargate-env-{label}-{uuid.uuid4().hex[:8]}"
        group = Cgroup(name, cpu_units, memory_mib, version=self.version)
        quota = cpu_units * CFS_PERIOD_US // 1024
        memory = memory_mib * 1024 * 1024
        try:
            if self.version == 1:
                cpu_dir = self.root / "cpu" / _own_v1_path("cpu").lstrip("/") / name
                mem_dir = self.root / "memory" / _own_v1_path("memory").lstrip("/") / name
                for path in (cpu_dir, mem_dir):
                    path.mkdir()
                    group.paths.append(path)
                (cpu_dir / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                (cpu_dir / "cpu.cfs_quota_us").write_text(str(quota))
                (mem_dir / "memory.limit_in_bytes").write_text(str(memory))
            else:
                path = self.root / name
                path.mkdir()
                group.paths.append(path)
                (path / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
                (path / "memory.max").write_text(str(memory))
        except OSError:
            group.remove(timeout=0)
            raise
        return group


def describe(cpu_units: int, memory_mib: int, capper: Capper) -> str:
    if capper.available:
        return f"capped at {cpu_units / 1024:g} vCPU / {memory_mib} MiB ({capper.reason})"
    return f"uncapped ({capper.reason})"
