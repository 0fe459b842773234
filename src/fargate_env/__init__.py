"""fargate-env: a cost-minimal, secure, non-production ECS Fargate environment and its proofs."""

import os

# jsii prints a large banner on Node 20 unless this names the major version (REFERENCE.md).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
