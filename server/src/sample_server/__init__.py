"""The sample service fargate-env deploys: a small ASGI app served by granian."""

__version__ = "0.1.0"
