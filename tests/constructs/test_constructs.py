"""WebService and ServiceAlarms on a bare Stack(): each takes one service's config and the
shared parts it uses, nothing of the environment."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from fargate_env.config import Route, ServiceConfig, ThresholdsConfig
from fargate_env.constructs.service_alarms import ServiceAlarms
from fargate_env.constructs.web_service import WebService

TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


def build(service: ServiceConfig, routes: list[Route]) -> tuple[cdk.Stack, WebService]:
    stack = cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    alb = elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=vpc)
    listener = alb.add_listener(
        "Http", port=80, default_action=elbv2.ListenerAction.fixed_response(404)
    )
    web = WebService(
        stack,
        "Web",
        name="api",
        service=service,
        cluster=cluster,
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        assign_public_ip=True,
        repository=ecr.Repository(stack, "Repo"),
        listener=listener,
        routes=routes,
        keep_alive_seconds=65,
    )
    return stack, web


def test_web_service_builds_its_rule_target_group_and_service():
    service = ServiceConfig(cpu=512, memory=1024, container_port=9000)
    routes = [Route("api", 123, ("api.example.com",), ("/v1/*",))]
    stack, web = build(service, routes)
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::ECS::Service", 1)
    t.resource_count_is("AWS::ElasticLoadBalancingV2::TargetGroup", 1)
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {
            "Priority": 123,
            "Conditions": [
                {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}},
                {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v1/*"]}},
            ],
        },
    )
    t.has_resource_properties("AWS::ECS::TaskDefinition", {"Cpu": "512", "Memory": "1024"})
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup", {"Port": 9000, "HealthCheckPath": "/health"}
    )
    assert len(web.rules) == 1


def test_a_catch_all_route_is_a_second_rule_at_the_last_priority():
    routes = [Route("api", 5, (), ("/api/*",)), Route("api", 50000, (), ("/*",), catch_all=True)]
    stack, web = build(ServiceConfig(), routes)
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", 2)
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {"Priority": 50000, "Conditions": [Match.object_like({"Field": "path-pattern"})]},
    )
    assert [r.node.id for r in web.rules] == ["Rule", "CatchAll"]


def test_service_alarms_on_a_bare_stack():
    stack, web = build(ServiceConfig(), [Route("api", 5, (), ("/api/*",))])
    alarms = ServiceAlarms(
        stack,
        "Alarms",
        label="env-api",
        service=web.service,
        target_group=web.target_group,
        topic=sns.Topic.from_topic_arn(stack, "Topic", TOPIC),
        thresholds=ThresholdsConfig(target_5xx_count=3),
        scaling=ServiceConfig().scaling,
        scales_to_zero=False,
        container_insights=False,
    )
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::CloudWatch::Alarm", 6)
    t.resource_count_is("AWS::Events::Rule", 2)
    t.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"AlarmName": "env-api-Target5xx", "Threshold": 3, "AlarmActions": [TOPIC]},
    )
    assert len(alarms.widgets(stack)) == 3
