"""[services.NAME.image]: a build context `push` builds, or a uri from another registry.
Each bad value is one line naming the field and the fix, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_env.config import ConfigError, load_config
from tests.conftest import demo_data, make_config, merge
from tests.test_config_load_balancer import run_bad, to_toml

DIGEST = "sha256:" + "0" * 64
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf"


def web_image(**image) -> dict:
    """The demo's web with this [image] table (the demo's build replaced)."""
    return {"services": {"web": {"image": {"build": None, **image}}}}


def web_uri(uri: str, **extra) -> dict:
    return {"services": {"web": {"image": {"build": None, "uri": uri}, "image_tag": None, **extra}}}


BAD = [
    (
        "uri-no-tag",
        web_uri("ghcr.io/acme/api"),
        ["services.web.image.uri", "neither a tag nor a digest"],
    ),
    (
        "uri-latest",
        web_uri("ghcr.io/acme/api:latest"),
        ["services.web.image.uri", "'latest' moves", "@sha256"],
    ),
    (
        "uri-garbage",
        web_uri("ghcr.io/Acme/API:1"),
        ["services.web.image.uri", "not an image reference"],
    ),
    (
        "both",
        web_image(build={"context": "."}, uri="nginx:1.27"),
        ["services.web.image", "exactly one of"],
    ),
    ("neither", web_image(), ["services.web.image", "exactly one of"]),
    (
        "dockerfile-outside",
        web_image(build={"context": str(Path("server").resolve()), "dockerfile": "../Dockerfile"}),
        ["services.web.image.build", "outside the build context"],
    ),
    (
        "credentials-with-build",
        {"services": {"web": {"image": {"credentials": SECRET}}}},
        ["services.web.image", "credentials: only for a uri"],
    ),
    (
        "uri-with-image-tag",
        {"services": {"web": {"image": {"build": None, "uri": "nginx:1.27"}, "image_tag": "v2"}}},
        ["services.web", "image_tag", "has no ECR repository"],
    ),
    (
        "tag-latest-on-immutable",
        {"services": {"web": {"image_tag": "latest"}}},
        ["services.web.image_tag", "immutable", "never move"],
    ),
    (
        "missing-context",
        {"services": {"web": {"image": {"build": {"context": "no-such-dir"}}}}},
        [
            "services.web.image.build.context",
            "no-such-dir",
            "is not a directory",
            "relative to the environment file",
        ],
    ),
]


@pytest.mark.parametrize(("case", "overrides", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_images_are_one_line_exit_2(tmp_path, case, overrides, words):
    line = run_bad(tmp_path, overrides)
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


def test_a_dockerfile_symlinked_out_of_the_context_is_refused(tmp_path):
    context = tmp_path / "app"
    context.mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (context / "Dockerfile").symlink_to(tmp_path / "Dockerfile")
    path = tmp_path / "env.toml"
    path.write_text(
        to_toml(merge(demo_data(), {"services": {"web": {"image": {"build": {"context": "app"}}}}}))
    )
    with pytest.raises(ConfigError, match="resolves outside the context"):
        load_config(path)


def test_contexts_are_relative_to_the_environment_file(tmp_path):
    (tmp_path / "envs").mkdir()
    context = tmp_path / "code" / "api"
    context.mkdir(parents=True)
    (context / "Dockerfile.prod").write_text("FROM scratch\n")
    build = {
        "context": "../code/api",
        "dockerfile": "Dockerfile.prod",
        "target": "runtime",
        "args": {"VERSION": "1"},
    }
    path = tmp_path / "envs" / "env.toml"
    path.write_text(to_toml(merge(demo_data(), {"services": {"web": {"image": {"build": build}}}})))
    config = load_config(path)
    assert config.services["web"].image.build.context_dir(path.parent) == context
    assert config.services["web"].builds_image


@pytest.mark.parametrize(
    "uri", ["nginx:1.27", f"ghcr.io/acme/api@{DIGEST}", f"localhost:5000/a/b:latest@{DIGEST}"]
)
def test_a_tag_or_a_digest_is_enough(uri):
    svc = make_config(web_uri(uri)).services["web"]
    assert svc.image.uri == uri and not svc.builds_image


def test_the_readme_shows_a_teams_own_service_in_five_lines(tmp_path):
    import tomllib

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### A team's own service", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) == 5
    (tmp_path / "envs").mkdir()
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "Dockerfile").write_text("FROM scratch\n")
    path = tmp_path / "envs" / "env.toml"
    path.write_text(to_toml(merge(demo_data(), tomllib.loads(block))))
    svc = load_config(path).services["shop"]
    assert svc.builds_image and svc.image.build.context_dir(path.parent) == tmp_path / "shop"
    assert svc.container_port == 3000 and svc.health_check.container_command is None
