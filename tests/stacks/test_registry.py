"""RegistryStack: one repository per service; scanning, immutability, encryption, lifecycle,
cross-account pull."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from fargate_env.stacks.registry import PULL_ACTIONS


def repository(template: dict, service: str = "web") -> dict:
    [repo] = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECR::Repository"
        and r["Properties"]["RepositoryName"] == f"demo/{service}"
    ]
    return repo


def test_one_repository_per_service_with_its_own_outputs(demo):
    template = demo.template_json("registry")
    repos = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECR::Repository"]
    assert sorted(r["Properties"]["RepositoryName"] for r in repos) == ["demo/api", "demo/web"]
    assert {"RepositoryUriWeb", "RepositoryUriApi", "RepositoryNameApi"} <= set(template["Outputs"])


def test_repository_scans_on_push_and_is_immutable_and_encrypted(demo):
    demo.template("registry").has_resource_properties(
        "AWS::ECR::Repository",
        {
            "RepositoryName": "demo/web",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "ImageTagMutability": "IMMUTABLE",
            "EncryptionConfiguration": {"EncryptionType": "AES256"},
        },
    )


def test_images_are_retained_by_default(demo):
    repo = repository(demo.template_json("registry"))
    assert repo["DeletionPolicy"] == "Retain"


def test_lifecycle_rules_expire_untagged_and_keep_last_n(synth):
    s = synth({"registry": {"keep_tagged_images": 25, "untagged_expiry_days": 3}})
    policy = repository(s.template_json("registry"))["Properties"]["LifecyclePolicy"]
    rules = json.loads(policy["LifecyclePolicyText"])["rules"]
    assert rules[0]["rulePriority"] == 1
    assert rules[0]["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countNumber": 3,
        "countUnit": "days",
    }
    assert rules[1]["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 25,
    }
    assert all(rule["action"] == {"type": "expire"} for rule in rules)


def test_no_repository_policy_without_pull_accounts(demo):
    assert "RepositoryPolicyText" not in repository(demo.template_json("registry"))["Properties"]


def test_cross_account_pull_grants_only_pull_actions_to_the_listed_accounts(synth):
    accounts = ["111111111111", "222222222222"]
    s = synth({"registry": {"pull_accounts": accounts}})
    policy = repository(s.template_json("registry"))["Properties"]["RepositoryPolicyText"]
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == sorted(PULL_ACTIONS)
    principals = json.dumps(statement["Principal"])
    for account in accounts:
        assert f":iam::{account}:root" in principals


def test_destroy_removal_policy_empties_the_repository(synth):
    t = synth({"registry": {"removal_policy": "destroy"}}).template("registry")
    t.has_resource(
        "AWS::ECR::Repository",
        {"DeletionPolicy": "Delete", "Properties": Match.object_like({"EmptyOnDelete": True})},
    )
    t.has_output("RepositoryUriWeb", {"Value": Match.any_value()})
