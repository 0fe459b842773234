"""Service kinds in their stacks: the web templates stay as deployed; a backend behind Service
Connect, a worker scaled on its queue, a job run by Scheduler through Step Functions."""

from __future__ import annotations

import json
from pathlib import Path

from fargate_env.assembly import read_environment

# The demo's two web services' logical ids before the task definition became a construct of
# its own (ServiceTask): the refactor must not move a deployed resource.
BEFORE = Path(__file__).parent / "data" / "demo_service_logical_ids.json"


def test_the_demo_web_services_keep_every_logical_id(demo):
    env = read_environment(demo.outdir)
    before = json.loads(BEFORE.read_text())
    for name, ids in before.items():
        stack = env.stack(demo.config.service_stack_name(name))
        now = {rid: r.type for rid, r in stack.deployable().items()}
        assert now == ids, name
