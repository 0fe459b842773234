"""The shared internet-facing ALB: certificate, TLS policy, listeners, access logs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from fargate_env.config.base import Section
from fargate_env.config.limits import TLS_POLICIES
from fargate_env.config.types import (
    CertificateArn,
    DomainName,
    HostedZoneId,
    RemovalPolicy,
    between,
)


class AccessLogsConfig(Section):
    expiry_days: int = Field(30, ge=1, le=3650)
    removal_policy: RemovalPolicy = "retain"


class LoadBalancerConfig(Section):
    certificate_arn: CertificateArn | None = None
    domain_name: DomainName | None = None
    hosted_zone_id: HostedZoneId | None = None
    hosted_zone_name: DomainName | None = None
    allow_http_only: bool = False
    ssl_policy: Literal[TLS_POLICIES] = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # type: ignore[valid-type]
    idle_timeout_seconds: Annotated[int, between(1, 4000)] = 60
    deletion_protection: bool = False
    access_logs: AccessLogsConfig = AccessLogsConfig()
    # Previews answer on <name>.<preview_domain>: a wildcard certificate and a wildcard alias
    # record in this zone (unset: no previews, nothing created).
    preview_domain: DomainName | None = None
    preview_hosted_zone_id: HostedZoneId | None = None
    preview_hosted_zone_name: DomainName | None = None

    @model_validator(mode="after")
    def _certificate_mode(self) -> LoadBalancerConfig:
        dns = (self.domain_name, self.hosted_zone_id, self.hosted_zone_name)
        if self.certificate_arn and any(dns[1:]):
            raise ValueError("set either certificate_arn or the hosted_zone_* fields, not both")
        if any(dns) and not self.certificate_arn and not all(dns):
            raise ValueError(
                "DNS-validated certificates need domain_name, hosted_zone_id and hosted_zone_name"
            )
        if (
            self.domain_name
            and self.hosted_zone_name
            and not (
                self.domain_name == self.hosted_zone_name
                or self.domain_name.endswith("." + self.hosted_zone_name)
            )
        ):
            raise ValueError(
                f"domain_name {self.domain_name!r} is not inside hosted zone"
                f" {self.hosted_zone_name!r}"
            )
        if not self.certificate_arn and not self.domain_name and not self.allow_http_only:
            raise ValueError(
                "needs certificate_arn, or domain_name + hosted_zone_id + hosted_zone_name,"
                " or allow_http_only = true for an unencrypted HTTP-only environment"
            )
        self._check_previews()
        return self

    def _check_previews(self) -> None:
        zone = (self.preview_hosted_zone_id, self.preview_hosted_zone_name)
        if not self.preview_domain:
            if any(zone):
                raise ValueError("preview_hosted_zone_* set without preview_domain")
            return
        if not all(zone):
            raise ValueError(
                "preview_domain needs preview_hosted_zone_id and preview_hosted_zone_name"
                " (the Route 53 zone its wildcard record and certificate validation go in)"
            )
        name = self.preview_hosted_zone_name
        if not (self.preview_domain == name or self.preview_domain.endswith(f".{name}")):
            raise ValueError(
                f"preview_domain {self.preview_domain!r} is not inside hosted zone {name!r}"
            )

    @property
    def certificate_mode(self) -> Literal["imported", "dns-validated", "http-only"]:
        if self.certificate_arn:
            return "imported"
        if self.domain_name:
            return "dns-validated"
        return "http-only"
