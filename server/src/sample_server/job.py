"""`python -m sample_server.job`: the sample scheduled job. One bounded piece of work, a JSON
log line for its start and its end, then exit: 0, or JOB_EXIT_CODE when set (a failing run
to rehearse the failure alarm and `run-job`'s report).

  JOB_ITEMS      items to process, 1-100000 (default 100): sha256 over each, chained
  JOB_EXIT_CODE  the exit code of the run, 0-255 (default 0)
"""

from __future__ import annotations

import hashlib
import logging.config
import os
import sys
import time
from collections.abc import Mapping

from sample_server.logs import logger, logging_config
from sample_server.settings import LOG_LEVELS, SettingsError, env_int

ITEMS_MAX = 100_000


def work(items: int) -> str:
    """The run's work: a hash chain over `items` items (bounded, deterministic)."""
    digest = b""
    for i in range(items):
        digest = hashlib.sha256(digest + i.to_bytes(4, "big")).digest()
    return digest.hex()


def run(env: Mapping[str, str]) -> int:
    items = env_int(env, "JOB_ITEMS", 100, 1, ITEMS_MAX)
    code = env_int(env, "JOB_EXIT_CODE", 0, 0, 255)
    started = time.perf_counter()
    logger.info("job started", extra={"items": items, "pid": os.getpid()})
    result = work(items)
    elapsed = round(time.perf_counter() - started, 3)
    if code:
        logger.error("job failed", extra={"exit_code": code, "duration_s": elapsed})
    else:
        logger.info("job done", extra={"items": items, "digest": result, "duration_s": elapsed})
    return code


def main() -> None:
    env = os.environ
    level = env.get("LOG_LEVEL", "INFO").upper()
    logging.config.dictConfig(logging_config(level if level in LOG_LEVELS else "INFO"))
    try:
        code = run(env)
    except SettingsError as exc:
        print(f"sample_server.job: {exc}", file=sys.stderr)
        code = 2
    logging.shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()
