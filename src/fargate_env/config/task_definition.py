"""What ECS would refuse, or silently resolve, in a service's container definition: names
that collide, and a task definition over ECS's size limit."""

from __future__ import annotations

import json

from fargate_env.config.limits import ECS_TASK_DEFINITION_BYTES

# Variables the task definition sets itself (constructs/web_service.py): the sample server and
# its health check read them. A user's value would be silently replaced; PORT is checked
# against container_port instead.
TASK_ENVIRONMENT = (
    "PORT",
    "HEALTH_PATH",
    "HEALTH_TIMEOUT_SECONDS",
    "SHUTDOWN_TIMEOUT_SECONDS",
    "SERVICE_NAME",
    "HEADER_READ_TIMEOUT_SECONDS",
)
# What the rest of one task definition takes (image, roles, health check, log options, the
# variables above; about 2 KiB in the demo's), kept free of the user's variables.
TASK_DEFINITION_OWN_BYTES = 8 * 1024


def check_container_values(environment: dict[str, str], secrets: dict[str, str]) -> None:
    """Raise ValueError (one line) for a collision or a task definition ECS would refuse."""
    for name in environment:
        if name in secrets:
            raise ValueError(
                f"{name} is both in environment and in secrets: one container cannot hold the"
                " same variable twice (ECS refuses it); keep one"
            )
        if name in TASK_ENVIRONMENT and name != "PORT":
            raise ValueError(
                f"environment.{name}: the task definition sets it from the service's config"
                " and would replace yours; remove it (see services.NAME.health_check and"
                " stop_timeout_seconds)"
            )
    for name in secrets:
        if name in TASK_ENVIRONMENT:
            raise ValueError(
                f"secrets.{name}: the task definition sets {name} itself; use another name"
            )
    size = len(
        json.dumps(
            [{"name": k, "value": v} for k, v in environment.items()]
            + [{"name": k, "valueFrom": v} for k, v in secrets.items()]
        ).encode()
    )
    room = ECS_TASK_DEFINITION_BYTES - TASK_DEFINITION_OWN_BYTES
    if size > room:
        raise ValueError(
            f"environment and secrets take {size / 1024:.1f} KiB; ECS refuses a task"
            f" definition over {ECS_TASK_DEFINITION_BYTES // 1024} KiB and the rest of it"
            f" needs {TASK_DEFINITION_OWN_BYTES // 1024}: move values into a file or a secret"
        )
