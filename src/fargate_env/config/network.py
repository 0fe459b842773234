"""The VPC and how tasks reach the internet."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fargate_env.config.base import Section
from fargate_env.config.types import Cidr, InstanceType, RetentionDays


class FlowLogsConfig(Section):
    # On by default: only REJECT records are kept, which costs cents a month on a quiet VPC.
    enabled: bool = True
    retention_days: RetentionDays = 14


class NetworkConfig(Section):
    cidr: Cidr = "10.40.0.0/20"
    max_azs: int = Field(2, ge=2, le=3)
    # Explicit AZs let a stack with a concrete account synthesize without a credentials lookup.
    availability_zones: list[str] | None = None
    egress: Literal["nat-gateway", "nat-instance", "public"] = "nat-gateway"
    nat_instance_type: InstanceType = "t4g.nano"
    # Root volume of the NAT instance (encrypted gp3); AL2023 needs at least 8 GiB.
    nat_instance_volume_gb: int = Field(8, ge=8, le=64)
    flow_logs: FlowLogsConfig = FlowLogsConfig()
