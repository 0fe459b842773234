"""Operations on a deployed environment: push, deploy, verify, load, failover, rightsize."""
