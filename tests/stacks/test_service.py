"""A service's stack (WebService): task definition, IAM, service, security group, target
group, listener rule, scaling, schedule; and the cluster it runs on (platform stack)."""

from __future__ import annotations

import json

import pytest

from fargate_env import outputs
from fargate_env.constructs.service_task import EXEC_AGENT_PATHS, HEALTH_CHECK_COMMAND

SVC = "service:web"
SM_COMPLETE = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-AbCdEf"
SM_PARTIAL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-token"
SSM_NAME = "/demo/feature-key"

# Every optional feature on and every number off its default.
FULL = {
    "cluster": {"container_insights": True, "cloud_map_namespace": "internal.local"},
    "services": {
        "web": {
            "health_check": {"path": "/healthz", "container_retries": 4},
            "cpu": 512,
            "memory": 2048,
            "container_port": 9000,
            "container_user": "1234",
            "image_tag": "v1.2.3",
            "log_retention_days": 30,
            "health_check_grace_period_seconds": 45,
            "stop_timeout_seconds": 20,
            "enable_exec": True,
            "secrets": {
                "DB_PASSWORD": SM_COMPLETE,
                "API_TOKEN": SM_PARTIAL,
                "FEATURE_KEY": SSM_NAME,
            },
            "capacity": {"spot": True, "on_demand_base": 1},
            "scaling": {
                "min_tasks": 2,
                "max_tasks": 6,
                "cpu_target_percent": 50,
                "memory_target_percent": 70,
                "requests_per_target": 500,
                "scale_in_cooldown_seconds": 300,
                "scale_out_cooldown_seconds": 30,
            },
            "schedule": {
                "timezone": "Europe/Berlin",
                "stop": "cron(30 19 ? * MON-FRI *)",
                "start": "cron(0 6 ? * MON-FRI *)",
            },
        }
    },
}
ARM = {
    "services": {
        "web": {
            "architecture": "arm64",
            "capacity": {"spot": False},
            "read_only_root_filesystem": False,
        }
    }
}
# Graviton on Fargate Spot (ECS API reference, CapacityProviderStrategyItem: ARM64 on
# FARGATE_SPOT from platform version 1.4.0), pinned to that version.
ARM_SPOT = {
    "services": {
        "web": {"architecture": "arm64", "capacity": {"spot": True}, "platform_version": "1.4.0"}
    }
}
EGRESS = ["nat-gateway", "nat-instance", "public"]


def egress(mode: str) -> dict | None:
    return None if mode == "nat-gateway" else {"network": {"egress": mode}}


def resources(synthesized, kind: str, part: str = SVC) -> dict[str, dict]:
    tpl = synthesized.template_json(part)
    return {k: r for k, r in tpl["Resources"].items() if r["Type"] == kind}


def the(synthesized, kind: str, part: str = SVC) -> dict:
    found = list(resources(synthesized, kind, part).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]["Properties"]


def container(synthesized) -> dict:
    (only,) = the(synthesized, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    return only


def role_policy(synthesized, role_prefix: str) -> list[dict]:
    """Statements of the inline policies attached to the role whose logical id starts so."""
    roles = [k for k in resources(synthesized, "AWS::IAM::Role") if k.startswith(role_prefix)]
    assert len(roles) == 1, roles
    statements = []
    for policy in resources(synthesized, "AWS::IAM::Policy").values():
        if {"Ref": roles[0]} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def import_name(value: dict) -> str:
    return json.dumps(value)


# --- cluster ----------------------------------------------------------------------------------


def test_cluster_has_fargate_and_spot_providers(demo):
    assoc = the(demo, "AWS::ECS::ClusterCapacityProviderAssociations", "platform")
    assert sorted(assoc["CapacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]


def test_container_insights_from_config(demo, synth):
    off = the(demo, "AWS::ECS::Cluster", "platform")["ClusterSettings"]
    assert off == [{"Name": "containerInsights", "Value": "disabled"}]
    on = the(synth(FULL), "AWS::ECS::Cluster", "platform")["ClusterSettings"]
    assert on == [{"Name": "containerInsights", "Value": "enabled"}]


def test_cloud_map_namespace_only_when_configured(demo, synth):
    assert resources(demo, "AWS::ServiceDiscovery::PrivateDnsNamespace", "platform") == {}
    assert "ServiceRegistries" not in the(demo, "AWS::ECS::Service")
    namespace = the(synth(FULL), "AWS::ServiceDiscovery::PrivateDnsNamespace", "platform")
    assert namespace["Name"] == "internal.local"
    assert len(the(synth(FULL), "AWS::ECS::Service")["ServiceRegistries"]) == 1


# --- task definition --------------------------------------------------------------------------


def test_task_size_and_platform(demo, synth):
    task = the(demo, "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == ("256", "512")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    assert task["RuntimePlatform"] == {
        "CpuArchitecture": "X86_64",
        "OperatingSystemFamily": "LINUX",
    }
    full = the(synth(FULL), "AWS::ECS::TaskDefinition")
    assert (full["Cpu"], full["Memory"]) == ("512", "2048")
    arm = the(synth(ARM), "AWS::ECS::TaskDefinition")
    assert arm["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


def test_container_image_port_user_and_stop_timeout(demo, synth):
    c = container(demo)
    assert c["Essential"] is True
    assert c["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]
    assert c["User"] == "10001"
    assert c["StopTimeout"] == 30
    image = json.dumps(c["Image"])
    assert "demo-registry:ExportsOutputRefweb" in image and ":initial" in image
    full = container(synth(FULL))
    assert full["PortMappings"] == [{"ContainerPort": 9000, "Protocol": "tcp"}]
    assert (full["User"], full["StopTimeout"]) == ("1234", 20)
    assert ":v1.2.3" in json.dumps(full["Image"])


def test_container_health_check_matches_the_target_group_path(demo, synth):
    c = container(demo)
    assert c["HealthCheck"] == {
        "Command": HEALTH_CHECK_COMMAND,
        "Interval": 10,
        "Timeout": 5,
        "Retries": 3,
        "StartPeriod": 10,
    }
    # The check module is part of the sample image: no curl assumption.
    assert HEALTH_CHECK_COMMAND == ["CMD", "python", "-m", "sample_server.healthcheck"]
    for synthesized in (demo, synth(FULL)):
        env = {e["Name"]: e["Value"] for e in container(synthesized)["Environment"]}
        tg = synthesized.template_json(SVC)["Resources"]
        (tg_props,) = [
            r["Properties"]
            for r in tg.values()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
        ]
        assert env["HEALTH_PATH"] == tg_props["HealthCheckPath"]
        assert env["PORT"] == str(tg_props["Port"])
    assert container(synth(FULL))["HealthCheck"]["Retries"] == 4


def test_environment_variables(demo):
    env = {e["Name"]: e["Value"] for e in container(demo)["Environment"]}
    assert env == {
        "LOG_LEVEL": "info",
        "PORT": "8080",
        "HEALTH_PATH": "/health",
        "HEALTH_TIMEOUT_SECONDS": "4",
        "SHUTDOWN_TIMEOUT_SECONDS": "28",
        "SERVICE_NAME": "web",
        # Above the ALB's 60 s idle timeout, so the ALB never reuses a connection we closed.
        "HEADER_READ_TIMEOUT_SECONDS": "65",
    }
    assert container(demo)["StopTimeout"] == 30


def test_read_only_root_with_writable_tmp_volume(demo, synth):
    c = container(demo)
    assert c["ReadonlyRootFilesystem"] is True
    assert c["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
    assert the(demo, "AWS::ECS::TaskDefinition")["Volumes"] == [{"Name": "tmp"}]
    # ECS Exec's agent needs its state and log directories writable as well.
    full = container(synth(FULL))
    mounts = {m["ContainerPath"]: m["SourceVolume"] for m in full["MountPoints"]}
    assert mounts == {"/tmp": "tmp", **{p: v for v, p in EXEC_AGENT_PATHS.items()}}
    arm = container(synth(ARM))
    assert arm["ReadonlyRootFilesystem"] is False
    assert "MountPoints" not in arm or arm["MountPoints"] == []


def test_awslogs_to_a_log_group_with_retention(demo, synth):
    log = container(demo)["LogConfiguration"]
    (group_id,) = resources(demo, "AWS::Logs::LogGroup")
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == {"Ref": group_id}
    assert log["Options"]["awslogs-region"] == "us-east-1"
    assert the(demo, "AWS::Logs::LogGroup")["RetentionInDays"] == 14
    assert the(synth(FULL), "AWS::Logs::LogGroup")["RetentionInDays"] == 30


def test_secrets_are_injected_by_ecs(demo, synth):
    assert "Secrets" not in container(demo)
    secrets = {s["Name"]: s["ValueFrom"] for s in container(synth(FULL))["Secrets"]}
    assert secrets["DB_PASSWORD"] == SM_COMPLETE
    assert secrets["API_TOKEN"] == SM_PARTIAL
    assert "parameter/demo/feature-key" in json.dumps(secrets["FEATURE_KEY"])
    env_names = {e["Name"] for e in container(synth(FULL))["Environment"]}
    assert not env_names & set(secrets), "secrets must not leak into plain environment"


# --- IAM ----------------------------------------------------------------------------------


def demo_execution_statements(log_group_id: str) -> list[dict]:
    repo_arn = {"Fn::ImportValue": "demo-registry:ExportsOutputFnGetAttweb08B6E5F3ArnD57DAEDE"}
    return [
        {
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            "Effect": "Allow",
            "Resource": repo_arn,
        },
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        },
    ]


def test_execution_role_exact_statements(demo):
    (log_group_id,) = resources(demo, "AWS::Logs::LogGroup")
    assert role_policy(demo, "WebTaskDefinitionExecutionRole") == demo_execution_statements(
        log_group_id
    )


def test_execution_role_reads_exactly_the_configured_secrets(synth):
    full = synth(FULL)
    (log_group_id,) = resources(full, "AWS::Logs::LogGroup")
    statements = role_policy(full, "WebTaskDefinitionExecutionRole")
    extra = [s for s in statements if s not in demo_execution_statements(log_group_id)]
    assert extra == [
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            # The partial ARN gets Secrets Manager's 6-character suffix as a '??????' pattern.
            "Resource": sorted([SM_COMPLETE, SM_PARTIAL + "-??????"]),
        },
        {
            "Action": [
                "ssm:DescribeParameters",
                "ssm:GetParameter",
                "ssm:GetParameterHistory",
                "ssm:GetParameters",
            ],
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:aws:ssm:us-east-1:",
                        {"Ref": "AWS::AccountId"},
                        ":parameter/demo/feature-key",
                    ],
                ]
            },
        },
    ]


def test_task_role_is_empty_without_exec(demo):
    assert role_policy(demo, "WebTaskDefinitionTaskRole") == []
    (role,) = [r for k, r in resources(demo, "AWS::IAM::Role").items() if "TaskRole" in k]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]


def test_task_role_gets_only_ssm_messages_with_exec(synth):
    full = synth(FULL)
    assert role_policy(full, "WebTaskDefinitionTaskRole") == [
        {
            "Action": [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Effect": "Allow",
            # ssmmessages has no resource-level permissions (Service Authorization Reference).
            "Resource": "*",
        }
    ]
    assert the(full, "AWS::ECS::Service")["EnableExecuteCommand"] is True


@pytest.mark.parametrize("overrides", [None, FULL, ARM], ids=["demo", "full", "arm"])
def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(synth, overrides):
    allowed_star = {
        "ecr:GetAuthorizationToken",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    }
    synthesized = synth(overrides)
    policies = resources(synthesized, "AWS::IAM::Policy").values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert statements
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in a for a in actions), statement
        if statement["Resource"] == "*":
            assert set(actions) <= allowed_star, statement


# --- service ---------------------------------------------------------------------------------


def test_service_deployment_settings(demo, synth):
    svc = the(demo, "AWS::ECS::Service")
    assert svc["DesiredCount"] == 1
    deployment = dict(svc["DeploymentConfiguration"])
    # The rollback alarms and strategies: tests/stacks/test_deploy.py.
    assert deployment.pop("Alarms")["Rollback"] is True
    assert deployment == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
        "Strategy": "ROLLING",
    }
    assert svc["HealthCheckGracePeriodSeconds"] == 30
    assert svc["EnableExecuteCommand"] is False
    full = the(synth(FULL), "AWS::ECS::Service")
    assert (full["DesiredCount"], full["HealthCheckGracePeriodSeconds"]) == (2, 45)


def test_capacity_provider_strategy(demo, synth):
    assert the(demo, "AWS::ECS::Service")["CapacityProviderStrategy"] == [
        {"Base": 0, "CapacityProvider": "FARGATE", "Weight": 0},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
    ]
    assert the(synth(FULL), "AWS::ECS::Service")["CapacityProviderStrategy"] == [
        {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 0},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
    ]
    assert the(synth(ARM), "AWS::ECS::Service")["CapacityProviderStrategy"] == [
        {"Base": 0, "CapacityProvider": "FARGATE", "Weight": 1},
    ]
    assert "LaunchType" not in the(demo, "AWS::ECS::Service")


def test_arm64_on_spot_runtime_platform_strategy_and_platform_version(demo, synth):
    arm_spot = synth(ARM_SPOT)
    task = the(arm_spot, "AWS::ECS::TaskDefinition")
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    service = the(arm_spot, "AWS::ECS::Service")
    assert service["CapacityProviderStrategy"] == [
        {"Base": 0, "CapacityProvider": "FARGATE", "Weight": 0},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
    ]
    assert service["PlatformVersion"] == "1.4.0"
    # Unpinned, every service states LATEST (1.4.0 today) rather than leaving it implicit.
    assert the(demo, "AWS::ECS::Service")["PlatformVersion"] == "LATEST"


def test_attached_to_the_load_balancer_target_group(demo, synth):
    for synthesized, port in ((demo, 8080), (synth(FULL), 9000)):
        (lb,) = the(synthesized, "AWS::ECS::Service")["LoadBalancers"]
        assert lb["ContainerName"] == "app"
        assert lb["ContainerPort"] == port
        # The target group is the service's own, in its own stack.
        (tg_id,) = resources(synthesized, "AWS::ElasticLoadBalancingV2::TargetGroup")
        assert lb["TargetGroupArn"] == {"Ref": tg_id}


@pytest.mark.parametrize("mode", EGRESS)
def test_task_subnets_and_public_ip_follow_egress(synth, mode):
    network = the(synth(egress(mode)), "AWS::ECS::Service")["NetworkConfiguration"]
    vpc = network["AwsvpcConfiguration"]
    kind = "publicSubnet" if mode == "public" else "privateSubnet"
    assert len(vpc["Subnets"]) == 2
    assert all(kind in import_name(s) for s in vpc["Subnets"]), vpc["Subnets"]
    assert vpc["AssignPublicIp"] == ("ENABLED" if mode == "public" else "DISABLED")


# --- security group --------------------------------------------------------------------------


def service_sg_id(synthesized) -> str:
    (sg,) = the(synthesized, "AWS::ECS::Service")["NetworkConfiguration"]["AwsvpcConfiguration"][
        "SecurityGroups"
    ]
    return sg["Fn::GetAtt"][0]


@pytest.mark.parametrize("overrides", [None, FULL], ids=["demo", "full"])
def test_tasks_admit_only_the_alb_on_the_container_port(synth, overrides):
    synthesized = synth(overrides)
    port = synthesized.config.services["web"].container_port
    sg_id = service_sg_id(synthesized)
    sg = resources(synthesized, "AWS::EC2::SecurityGroup")[sg_id]["Properties"]
    assert "SecurityGroupIngress" not in sg  # no inline (CIDR) ingress at all
    ingress = list(resources(synthesized, "AWS::EC2::SecurityGroupIngress").values())
    assert [r["Properties"] for r in ingress] == [
        {
            "Description": "Load balancer to target",
            "FromPort": port,
            "ToPort": port,
            "GroupId": {"Fn::GetAtt": [sg_id, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {
                "Fn::ImportValue": ingress[0]["Properties"]["SourceSecurityGroupId"][
                    "Fn::ImportValue"
                ]
            },
        }
    ]
    source = ingress[0]["Properties"]["SourceSecurityGroupId"]["Fn::ImportValue"]
    assert source.startswith("demo-platform:") and "SecurityGroup" in source
    # The ALB's matching egress rule lives here too, so the platform never references a service.
    (egress_rule,) = resources(synthesized, "AWS::EC2::SecurityGroupEgress").values()
    assert egress_rule["Properties"]["DestinationSecurityGroupId"] == {
        "Fn::GetAtt": [sg_id, "GroupId"]
    }
    assert (egress_rule["Properties"]["FromPort"], egress_rule["Properties"]["ToPort"]) == (
        port,
        port,
    )


def test_task_egress_is_https_only(demo):
    sg = resources(demo, "AWS::EC2::SecurityGroup")[service_sg_id(demo)]["Properties"]
    assert sg["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "AWS APIs over HTTPS",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


# --- scaling and schedule --------------------------------------------------------------------


def policies(synthesized) -> dict[str, dict]:
    found = resources(synthesized, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    return {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]: p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in found
    }


def test_scalable_target_and_cpu_policy(demo):
    target = the(demo, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert "ScheduledActions" not in target
    assert list(policies(demo)) == ["ECSServiceAverageCPUUtilization"]
    cpu = policies(demo)["ECSServiceAverageCPUUtilization"]
    assert (cpu["TargetValue"], cpu["ScaleInCooldown"], cpu["ScaleOutCooldown"]) == (60, 120, 60)


def test_memory_and_request_count_policies_when_configured(synth):
    full = synth(FULL)
    target = the(full, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    found = policies(full)
    assert set(found) == {
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
        "ALBRequestCountPerTarget",
    }
    assert found["ECSServiceAverageCPUUtilization"]["TargetValue"] == 50
    assert found["ECSServiceAverageMemoryUtilization"]["TargetValue"] == 70
    requests = found["ALBRequestCountPerTarget"]
    assert requests["TargetValue"] == 500
    label = json.dumps(requests["PredefinedMetricSpecification"]["ResourceLabel"])
    assert "TargetGroupFullName" in label
    for policy in found.values():
        assert (policy["ScaleInCooldown"], policy["ScaleOutCooldown"]) == (300, 30)


def test_scheduled_scale_to_zero_and_back(synth):
    target = the(synth(FULL), "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ScheduledActions"] == [
        {
            "ScalableTargetAction": {"MaxCapacity": 0, "MinCapacity": 0},
            "Schedule": "cron(30 19 ? * MON-FRI *)",
            "ScheduledActionName": "Stop",
            "Timezone": "Europe/Berlin",
        },
        {
            "ScalableTargetAction": {"MaxCapacity": 6, "MinCapacity": 2},
            "Schedule": "cron(0 6 ? * MON-FRI *)",
            "ScheduledActionName": "Start",
            "Timezone": "Europe/Berlin",
        },
    ]


# --- outputs, wiring, dependencies -----------------------------------------------------------


def test_outputs(demo):
    outs = demo.template_json(SVC)["Outputs"]
    platform = demo.template_json("platform")["Outputs"]
    assert platform[outputs.CLUSTER_NAME]["Value"] == {
        "Ref": next(iter(resources(demo, "AWS::ECS::Cluster", "platform")))
    }
    (tg_id,) = resources(demo, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert outs[outputs.TARGET_GROUP_ARN]["Value"] == {"Ref": tg_id}
    assert outs[outputs.SERVICE_NAME]["Value"]["Fn::GetAtt"][1] == "Name"
    assert outs[outputs.LOG_GROUP_NAME]["Value"] == {
        "Ref": next(iter(resources(demo, "AWS::Logs::LogGroup")))
    }
    task_role = [
        k for k in resources(demo, "AWS::IAM::Role") if k.startswith("WebTaskDefinitionTaskRole")
    ]
    assert outs[outputs.TASK_ROLE_ARN]["Value"] == {"Fn::GetAtt": [task_role[0], "Arn"]}


def test_attribute_contract(demo):
    web = demo.built.services["web"].web
    for name in (
        "service",
        "task_definition",
        "container",
        "log_group",
        "scaling",
        "security_group",
        "target_group",
        "rules",
    ):
        assert getattr(web, name) is not None, name
    assert web.container.container_port == demo.config.services["web"].container_port


@pytest.mark.parametrize("mode", EGRESS)
def test_stack_dependencies_point_one_way_in_every_egress_mode(synth, mode):
    synthesized = synth(egress(mode))
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    deps = {
        name: set(artifact.get("dependencies", []))
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    name, svc = synthesized.config.stack_name, synthesized.stack_name("service:web")
    shared = {name("network"), name("registry"), name("platform"), name("alerts")}
    assert shared <= deps[svc]
    for other in (name("network"), name("registry"), name("platform"), name("alerts")):
        assert svc not in deps[other]
        # No shared template imports an export of a service stack.
        assert "-service-" not in json.dumps(synthesized.template_json(other.split("-", 1)[1]))
    assert name("platform") not in deps[name("network")]
    assert svc in deps[name("monitoring")]


KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000"


def test_secrets_under_a_customer_key_grant_decrypt_on_exactly_that_key(demo, synth):
    keyed = synth(
        {"services": {"web": {"secrets": {"DB": SM_COMPLETE}, "secret_kms_keys": [KMS_KEY]}}}
    )
    statements = role_policy(keyed, "WebTaskDefinitionExecutionRole")
    decrypt = [s for s in statements if "kms:Decrypt" in json.dumps(s["Action"])]
    assert decrypt == [{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": KMS_KEY}]
    assert "kms:" not in json.dumps(role_policy(demo, "WebTaskDefinitionExecutionRole"))


def test_no_linux_capability_and_an_init_process(demo):
    params = container(demo)["LinuxParameters"]
    assert params == {"Capabilities": {"Drop": ["ALL"]}, "InitProcessEnabled": True}
