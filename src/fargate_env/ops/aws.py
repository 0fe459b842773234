"""AWS access for the operations commands: one session, credentials checked, stack outputs read.

Everything honours the standard variables, so the commands run against an emulator too:
AWS_PROFILE picks the profile, AWS_REGION overrides the environment's region, and
AWS_ENDPOINT_URL sends every client to another endpoint (moto_server, LocalStack).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig

from fargate_env import outputs
from fargate_env.config import EnvironmentConfig
from fargate_env.errors import UserError

# Fail fast on an unreachable endpoint instead of botocore's default minute of retries.
_BOTO_CONFIG = BotoConfig(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3})

NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE (then `aws sso login` if it is an SSO profile),"
    " or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def refuse_placeholders(config: EnvironmentConfig) -> None:
    """Commands that reach AWS must not run on the demo's made-up account or certificate."""
    found = config.placeholders()
    if found:
        raise UserError(
            f"environment {config.name!r} still holds a demo placeholder in {found[0]}"
            f"{f' (and {len(found) - 1} more)' if len(found) > 1 else ''}:"
            " set your own value in its environments/*.toml before using AWS"
        )


def account_from_credentials(config: EnvironmentConfig) -> bool:
    """A file that names no account and holds no other placeholder (quickstart.toml) is used
    with the account the credentials belong to; with any other placeholder it is refused."""
    return config.account is None and config.placeholders() == ["account"]


@dataclass
class Aws:
    """A boto3 session for one environment plus the clients made from it (cached)."""

    config: EnvironmentConfig
    session: boto3.session.Session
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_environment(cls, config: EnvironmentConfig) -> Aws:
        profile = os.environ.get("AWS_PROFILE") or None
        region = os.environ.get("AWS_REGION") or config.region
        try:
            session = boto3.session.Session(profile_name=profile, region_name=region)
        except botocore.exceptions.ProfileNotFound:
            raise UserError(
                f"AWS_PROFILE={profile!r} is not in ~/.aws/config: check the name"
                " (`aws configure list-profiles`)"
            ) from None
        return cls(config, session, os.environ.get("AWS_ENDPOINT_URL") or None)

    @property
    def region(self) -> str:
        return self.session.region_name

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, config=_BOTO_CONFIG
            )
        return self._clients[service]

    def check_credentials(self) -> str:
        """Ask STS who we are; the account must be the environment's. Returns the caller ARN."""
        identity = call(self.client("sts").get_caller_identity, what="STS GetCallerIdentity")
        account = identity["Account"]
        if self.config.account and account != self.config.account:
            raise UserError(
                f"credentials are for account {account} but environment {self.config.name!r}"
                f" is account {self.config.account}: switch AWS_PROFILE or fix `account`"
            )
        return identity["Arn"]

    def with_credentials_account(self) -> Aws:
        """The environment with `account` set to the credentials' account (STS): the one
        step that lets a file without an account deploy, synthesize and check against it."""
        identity = call(self.client("sts").get_caller_identity, what="STS GetCallerIdentity")
        config = self.config.model_copy(update={"account": identity["Account"]})
        return replace(self, config=config)

    def stack_outputs(self, part: str, *keys: str) -> dict[str, str]:
        """Outputs of one of the environment's shared stacks ("registry", "platform", ...)."""
        only = f" --only {part}" if part == outputs.REGISTRY else ""
        return self._outputs(self.config.stack_name(part), keys, only)

    def service_outputs(self, service: str, *keys: str) -> dict[str, str]:
        """Outputs of one service's own stack ("<env>-service-<name>")."""
        return self._outputs(self.config.service_stack_name(service), keys, f" --service {service}")

    def _outputs(self, name: str, keys: tuple[str, ...], deploy_args: str) -> dict[str, str]:
        """Every requested key must be present; each failure names the stack and the fix."""
        fix = f"`fargate-env deploy --env {self.config.name}{deploy_args}`"
        cfn = self.client("cloudformation")
        try:
            stacks = cfn.describe_stacks(StackName=name)["Stacks"]
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                raise UserError(
                    f"stack {name} not found in {self.region}: run {fix} first"
                    " (or set AWS_REGION to the region it lives in)"
                ) from None
            raise aws_error(exc, f"CloudFormation DescribeStacks {name}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise aws_error(exc, f"CloudFormation DescribeStacks {name}") from None
        stack = stacks[0]
        status = stack["StackStatus"]
        if not status.endswith("_COMPLETE") or "ROLLBACK" in status or "DELETE" in status:
            raise UserError(f"stack {name} is {status}: wait for it to finish or redeploy ({fix})")
        found = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        missing = [key for key in keys if key not in found]
        if missing:
            raise UserError(
                f"stack {name} has no output {missing[0]}: it was deployed by an older version"
                f" or before this service existed; redeploy with {fix}"
            )
        return found


def aws_error(exc: Exception, what: str) -> UserError:
    """The one line for an AWS failure the user can act on."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.NoRegionError):
        return UserError(NO_CREDENTIALS)
    if isinstance(exc, botocore.exceptions.TokenRetrievalError | botocore.exceptions.SSOError):
        return UserError(f"AWS SSO session expired: run `aws sso login` ({what})")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return UserError(f"cannot reach AWS for {what}: {exc} (check AWS_ENDPOINT_URL, network)")
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "Error")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}:
            return UserError(f"AWS credentials expired ({code}): refresh them and retry")
        if code in {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"}:
            return UserError(f"AWS rejected the credentials ({code}): check AWS_PROFILE / keys")
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            return UserError(f"{what}: access denied for these credentials ({message})")
        return UserError(f"{what} failed: {code}: {message}")
    return UserError(f"{what} failed: {exc}")


def call(func: Any, *, what: str, **kwargs: Any) -> Any:
    """Run one boto3 call; any AWS-side failure becomes a one-line UserError."""
    try:
        return func(**kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise aws_error(exc, what) from None


def deployed_template(aws: Aws, stack: str) -> dict[str, Any]:
    """A deployed stack's template body (CloudFormation GetTemplate answers JSON text, or
    an already parsed body for YAML-less JSON): read it with assembly.Stack.from_template."""
    body = call(
        aws.client("cloudformation").get_template,
        what=f"CloudFormation GetTemplate {stack}",
        StackName=stack,
    )["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else dict(body)
