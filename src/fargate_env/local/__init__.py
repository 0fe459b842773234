"""Local rehearsal: N sample-service instances behind HAProxy with the environment's numbers."""
