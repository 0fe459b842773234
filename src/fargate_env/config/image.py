"""Where a service's image comes from: a build context `push` builds into the service's ECR
repository, or an image of another registry named by `uri` (no ECR repository then).

Paths are relative to the environment file. Whether the context exists is checked when a file
is loaded (`loading.check_paths`): a config built from a dict has no file to be relative to.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from pydantic import field_validator, model_validator

from fargate_env.config.base import Section
from fargate_env.config.limits import IMAGE_TAG_LENGTH, MUTABLE_TAGS
from fargate_env.config.types import SecretArn

# distribution/reference: [host[:port]/]path[:tag][@digest], path components lowercase.
_URI_RE = re.compile(
    r"^(?P<name>(?:[A-Za-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)"
    rf"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{IMAGE_TAG_LENGTH - 1}}}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_ARG_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ImageBuild(Section):
    """`docker buildx build` of `context` with `dockerfile` (relative to the context)."""

    context: str
    dockerfile: str = "Dockerfile"
    target: str | None = None
    args: dict[str, str] = {}

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        if value is not None and not _STAGE_RE.match(value):
            raise ValueError(f"must be a build stage name like 'runtime' (got {value!r})")
        return value

    @field_validator("args")
    @classmethod
    def _args(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ARG_RE.match(name):
                raise ValueError(f"{name!r} is not a build argument name (A-Z a-z 0-9 _)")
        return value

    @model_validator(mode="after")
    def _inside(self) -> ImageBuild:
        if not self.context.strip():
            raise ValueError("context: name a directory, relative to the environment file")
        inside = posixpath.normpath(posixpath.join("ctx", self.dockerfile))
        if posixpath.isabs(self.dockerfile) or not inside.startswith("ctx/"):
            raise ValueError(
                f"dockerfile {self.dockerfile!r} lies outside the build context"
                f" {self.context!r}: the builder sees only the context; move it inside"
            )
        return self

    def context_dir(self, base: Path) -> Path:
        return (base / self.context).resolve()


class ImageConfig(Section):
    """Exactly one of `build` and `uri`. `credentials`: a Secrets Manager secret
    ({"username", "password"}) for a private registry; the execution role may read it alone."""

    build: ImageBuild | None = None
    uri: str | None = None
    credentials: SecretArn | None = None

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = _URI_RE.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not an image reference like registry.example.com/team/app:1.4"
                " or ...@sha256:DIGEST"
            )
        tag, digest = match.group("tag"), match.group("digest")
        if not tag and not digest:
            raise ValueError(
                f"{value!r} names neither a tag nor a digest (Docker would pull 'latest'):"
                " add :TAG or @sha256:DIGEST"
            )
        if tag in MUTABLE_TAGS and not digest:
            raise ValueError(
                f"{value!r}: tag {tag!r} moves with every build, so a deploy would not pin"
                " it; name a release tag or @sha256:DIGEST"
            )
        return value

    @model_validator(mode="after")
    def _one(self) -> ImageConfig:
        if (self.build is None) == (self.uri is None):
            raise ValueError(
                "set exactly one of build = { context = ... } (push builds it) and uri ="
                ' "registry/repo:tag" (an image of another registry)'
            )
        if self.credentials and self.uri is None:
            raise ValueError("credentials: only for a uri on a private registry; remove it")
        return self
