"""One service of each kind added to the demo: the config the kinds' template, assembly and
compliance tests synthesize (and what `environments/*.toml` would say, in TOML below).

    [services.orders]
    kind = "backend"

    [services.mailer]
    kind = "worker"
    queue = "mail-out"
    command = ["python", "-m", "sample_server"]

    [services.nightly]
    kind = "job"
    schedule = "cron(0 3 * * ? *)"
    command = ["python", "-m", "sample_server.job"]
    job.timezone = "Europe/Berlin"
    job.timeout_minutes = 20
"""

from __future__ import annotations

BACKEND, WORKER, JOB = "orders", "mailer", "nightly"
QUEUE = "mail-out"
KINDS = {
    "services": {
        BACKEND: {"kind": "backend"},
        WORKER: {
            "kind": "worker",
            "queue": QUEUE,
            "command": ["python", "-m", "sample_server"],
        },
        JOB: {
            "kind": "job",
            "schedule": "cron(0 3 * * ? *)",
            "command": ["python", "-m", "sample_server.job"],
            "job": {"timezone": "Europe/Berlin", "timeout_minutes": 20},
        },
    }
}
