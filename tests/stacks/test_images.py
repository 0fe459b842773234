"""Each image form in the templates: a build pulls from the service's own ECR repository; a
uri pulls from its registry with no repository made for it, and a private registry's
credential is read by the execution role alone."""

from __future__ import annotations

import pytest

from tests.conftest import WEB

PUBLIC = "public.ecr.aws/nginx/nginx:1.27"
PINNED = "ghcr.io/acme/api@sha256:" + "a" * 64
PRIVATE = "registry.example.com/team/api:2.3.1"
CREDENTIALS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry/team-AbCdEf"


def foreign(image: str, **extra) -> dict:
    """The demo's web on `image` instead of the sample server (no tag, no sample check)."""
    return {
        "image": {"build": None, "uri": image, **extra},
        "image_tag": None,
        "health_check": {"container_command": None},
    }


def uri(image: str, **extra) -> dict:
    return {"services": {WEB: foreign(image, **extra)}}


def container(synth_result, service: str = WEB) -> dict:
    template = synth_result.template_json(f"service:{service}")
    [task] = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    [definition] = task["Properties"]["ContainerDefinitions"]
    return definition


def policies(synth_result, service: str = WEB) -> list[dict]:
    template = synth_result.template_json(f"service:{service}")
    return [
        statement
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_a_built_image_comes_from_the_services_repository_at_its_tag(demo):
    parts = container(demo)["Image"]["Fn::Join"][1]
    assert parts[-1] == ":initial"
    assert parts[-2]["Fn::ImportValue"].startswith("demo-registry:ExportsOutputRefweb")
    assert ".dkr.ecr." in parts


@pytest.mark.parametrize("image", [PUBLIC, PINNED])
def test_a_uri_is_pulled_as_written_and_has_no_repository(synth, image):
    result = synth(uri(image))
    definition = container(result)
    assert definition["Image"] == image
    assert "RepositoryCredentials" not in definition
    repos = [
        r["Properties"]["RepositoryName"]
        for r in result.template_json("registry")["Resources"].values()
        if r["Type"] == "AWS::ECR::Repository"
    ]
    assert repos == ["demo/api"]
    actions = {
        a
        for s in policies(result)
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {a for a in actions if a.startswith("ecr:")}


def test_a_private_registry_gets_repository_credentials_read_by_the_execution_role_only(synth):
    result = synth(uri(PRIVATE, credentials=CREDENTIALS))
    definition = container(result)
    assert definition["Image"] == PRIVATE
    assert definition["RepositoryCredentials"] == {"CredentialsParameter": CREDENTIALS}
    template = result.template_json(f"service:{WEB}")
    reads = [
        (r["Properties"]["Roles"], s)
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Resource"] == CREDENTIALS
    ]
    assert len(reads) == 1
    [(roles, statement)] = reads
    assert sorted(statement["Action"]) == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    ]
    [role] = roles
    assert "ExecutionRole" in role["Ref"]


def test_no_container_check_for_a_foreign_image_unless_configured(synth, demo):
    assert "HealthCheck" not in container(synth(uri(PUBLIC)))
    checked = foreign(PUBLIC) | {"health_check": {"container_command": ["CMD", "/bin/check"]}}
    configured = synth({"services": {WEB: checked}})
    assert container(configured)["HealthCheck"]["Command"] == ["CMD", "/bin/check"]
    assert container(demo)["HealthCheck"]["Command"][-1] == "sample_server.healthcheck"


def test_only_uri_images_leave_a_deployable_registry_stack(synth):
    result = synth(
        {
            "services": {
                WEB: foreign(PUBLIC),
                "api": foreign(PINNED),
            }
        }
    )
    resources = result.template_json("registry")["Resources"]
    assert [r["Type"] for r in resources.values()] == ["AWS::CloudFormation::WaitConditionHandle"]
