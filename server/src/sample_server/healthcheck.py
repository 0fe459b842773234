"""Container health check: `python -m sample_server.healthcheck` exits 0 if the local service
answers 200, 1 otherwise. Uses only the standard library because the image has no curl."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def check(port: int, path: str, timeout: float) -> bool:
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    try:
        port = int(os.environ.get("PORT", "8080"))
        # Below the container check's own timeout, so we report failure instead of being killed.
        timeout = float(os.environ.get("HEALTH_TIMEOUT_SECONDS", "3"))
    except ValueError:
        return 1
    path = os.environ.get("HEALTH_PATH", "/health")
    if not path.startswith("/"):
        path = "/" + path
    return 0 if check(port, path, timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
