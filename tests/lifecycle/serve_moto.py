"""`python -m tests.lifecycle.serve_moto PORT`: moto's server with moto_gaps applied, on
localhost:PORT (the lifecycle fixture starts it and stops it by its PID)."""

from __future__ import annotations

import sys

from tests.lifecycle import moto_gaps

if __name__ == "__main__":
    moto_gaps.apply()
    from moto.server import main

    main(["--host", "localhost", "--port", sys.argv[1]])
