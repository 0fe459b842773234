"""ECS task metadata endpoint v4: which task and AZ this container runs in."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskInfo:
    task_id: str | None = None
    availability_zone: str | None = None
    cluster: str | None = None


def fetch_task_info(metadata_uri: str, timeout: float = 1.0) -> TaskInfo:
    """GET ${ECS_CONTAINER_METADATA_URI_V4}/task; raises OSError/ValueError on failure."""
    with urllib.request.urlopen(f"{metadata_uri.rstrip('/')}/task", timeout=timeout) as resp:
        doc = json.load(resp)
    if not isinstance(doc, dict):
        raise ValueError("task metadata is not a JSON object")
    arn = doc.get("TaskARN")
    # arn:aws:ecs:region:account:task/cluster-name/<task-id>: the id is the last segment.
    task_id = arn.rsplit("/", 1)[-1] if isinstance(arn, str) and arn else None
    az = doc.get("AvailabilityZone")
    cluster = doc.get("Cluster")
    return TaskInfo(
        task_id=task_id,
        availability_zone=az if isinstance(az, str) else None,
        cluster=cluster if isinstance(cluster, str) else None,
    )
