"""The shared ALB and what stands in front of it: certificate, TLS policy, listeners, access
logs, and the edge (`alb`: the ALB faces the internet; `cloudfront`: a CloudFront distribution
reaches an internal ALB through a VPC origin)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from fargate_env.config.base import Section
from fargate_env.config.limits import (
    CLOUDFRONT_CERTIFICATE_REGION,
    CLOUDFRONT_PRICE_CLASSES,
    TLS_POLICIES,
)
from fargate_env.config.types import (
    CertificateArn,
    DomainName,
    HostedZoneId,
    RemovalPolicy,
    between,
    pattern,
)

CertificateName = Annotated[
    str,
    pattern(
        r"^(\*\.)?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        "a lowercase DNS name, optionally *.-prefixed, like app.example.com or *.example.com",
    ),
]
PrefixListId = Annotated[
    str, pattern(r"^pl-[0-9a-f]{8,17}$", "a managed prefix list id like pl-3b927c52")
]


class AccessLogsConfig(Section):
    expiry_days: int = Field(30, ge=1, le=3650)
    removal_policy: RemovalPolicy = "retain"


class CloudFrontConfig(Section):
    """Settings of the distribution when `edge = "cloudfront"`."""

    # PriceClass_100: edge locations in North America and Europe only, the cheapest class.
    price_class: Literal[CLOUDFRONT_PRICE_CLASSES] = "PriceClass_100"  # type: ignore[valid-type]
    # The region's com.amazonaws.global.cloudfront.origin-facing list; None: the known id of
    # the environment's region (config.limits.CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS).
    origin_prefix_list_id: PrefixListId | None = None


class LoadBalancerConfig(Section):
    # alb: internet-facing ALB in the public subnets, HTTPS on it (needs a certificate or
    # allow_http_only). cloudfront: internal ALB in private subnets without public IPv4,
    # reached only through a CloudFront VPC origin; HTTPS at CloudFront, on its own
    # *.cloudfront.net name unless domain_name is set.
    edge: Literal["alb", "cloudfront"] = "alb"
    cloudfront: CloudFrontConfig = CloudFrontConfig()
    certificate_arn: CertificateArn | None = None
    # The names an imported certificate covers. fargate-env cannot read them offline, so it
    # takes these as given and checks every host route against them (no route: not needed).
    certificate_names: list[CertificateName] = []
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
        if self.edge == "cloudfront":
            self._cloudfront_certificate()
        dns = (self.domain_name, self.hosted_zone_id, self.hosted_zone_name)
        if self.certificate_names and not self.certificate_arn:
            raise ValueError(
                "certificate_names: only with certificate_arn (the imported certificate's"
                " names); a DNS-validated certificate covers domain_name"
            )
        if self.certificate_arn and any(dns[1:]):
            raise ValueError("set either certificate_arn or the hosted_zone_* fields, not both")
        # CloudFront serves domain_name as its alias with the certificate by ARN; the ALB
        # would not use it for anything.
        if self.certificate_arn and self.domain_name and self.edge != "cloudfront":
            raise ValueError(
                "domain_name is used only with hosted_zone_id and hosted_zone_name (a"
                " DNS-validated certificate and its alias record); beside certificate_arn it"
                " would be ignored: remove it"
            )
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
        if (
            self.edge == "alb"
            and not self.certificate_arn
            and not self.domain_name
            and not self.allow_http_only
        ):
            raise ValueError(
                "needs certificate_arn, or domain_name + hosted_zone_id + hosted_zone_name,"
                " or allow_http_only = true for an unencrypted HTTP-only environment"
            )
        self._check_previews()
        return self

    def _cloudfront_certificate(self) -> None:
        if self.allow_http_only:
            raise ValueError(
                'allow_http_only: edge = "cloudfront" always serves HTTPS (on its own'
                " *.cloudfront.net name without a domain); remove allow_http_only"
            )
        if self.certificate_arn:
            region = self.certificate_arn.split(":")[3]
            if region != CLOUDFRONT_CERTIFICATE_REGION:
                raise ValueError(
                    f"certificate_arn: CloudFront takes ACM certificates from"
                    f" {CLOUDFRONT_CERTIFICATE_REGION} only (got one in {region}); request or"
                    f" import it in {CLOUDFRONT_CERTIFICATE_REGION}"
                )
            if not self.domain_name:
                raise ValueError(
                    'certificate_arn: with edge = "cloudfront" it needs domain_name (the name'
                    " the certificate covers); without a domain no certificate is needed"
                )

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
    def is_cloudfront(self) -> bool:
        return self.edge == "cloudfront"

    @property
    def certificate_mode(
        self,
    ) -> Literal["imported", "dns-validated", "http-only", "cloudfront-default"]:
        """Where the viewer's TLS certificate comes from; cloudfront-default: CloudFront's own
        *.cloudfront.net certificate (no domain)."""
        if self.certificate_arn:
            return "imported"
        if self.domain_name:
            return "dns-validated"
        return "cloudfront-default" if self.is_cloudfront else "http-only"
