"""PlatformStack: what every service shares to serve traffic: the ECS cluster, the load balancer
(constructs/load_balancer.py) and, with `load_balancer.edge = "cloudfront"`, the CloudFront
distribution that reaches the internal ALB through a VPC origin (constructs/edge.py)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import ClusterConfig, LoadBalancerConfig
from fargate_env.constructs.edge import Edge
from fargate_env.constructs.load_balancer import LoadBalancer


class PlatformStack(Stack):
    """The listener's own default action is a fixed 404: every service, the default one
    included, adds its listener rules from its own stack, so this stack never changes when
    services come and go, and references only ever point from a service to the platform."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        cluster: ClusterConfig,
        load_balancer: LoadBalancerConfig,
        origin_prefix_list_id: str | None,
        vpc: ec2.IVpc,
        alb_subnets: ec2.SubnetSelection,
        service_connect: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        lb = load_balancer
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            enable_fargate_capacity_providers=True,
            container_insights_v2=(
                ecs.ContainerInsights.ENABLED
                if cluster.container_insights
                else ecs.ContainerInsights.DISABLED
            ),
        )
        self.task_security_group = (
            self._service_connect(environment, cluster, vpc) if service_connect else None
        )
        if not service_connect and cluster.cloud_map_namespace:
            self.cluster.add_default_cloud_map_namespace(name=cluster.cloud_map_namespace)
        balancer = LoadBalancer(self, load_balancer=lb, vpc=vpc, subnets=alb_subnets,
                                origin_prefix_list_id=origin_prefix_list_id)  # fmt: skip
        self.security_group = balancer.security_group
        self.access_log_bucket = balancer.access_log_bucket
        self.alb, self.listener = balancer.alb, balancer.listener
        self.redirect_listener = balancer.redirect_listener
        self.distribution: cloudfront.Distribution | None = None
        host = lb.domain_name or self.alb.load_balancer_dns_name
        if lb.is_cloudfront:
            comment = f"{environment}: every path to the internal ALB, uncached"
            self.distribution = Edge(self, load_balancer=lb, alb=self.alb,
                                     comment=comment).distribution  # fmt: skip
            domain = self.distribution.distribution_domain_name
            host = lb.domain_name or domain
            CfnOutput(self, outputs.DISTRIBUTION_DOMAIN, value=domain)
            CfnOutput(self, outputs.DISTRIBUTION_ID, value=self.distribution.distribution_id)
        self.base_url = f"{balancer.scheme}://{host}"
        CfnOutput(self, outputs.LOAD_BALANCER_DNS, value=self.alb.load_balancer_dns_name)
        CfnOutput(self, outputs.BASE_URL, value=self.base_url)
        CfnOutput(self, outputs.LISTENER_ARN, value=self.listener.listener_arn)
        CfnOutput(self, outputs.CLUSTER_NAME, value=self.cluster.cluster_name)

    def _service_connect(
        self, environment: str, cluster: ClusterConfig, vpc: ec2.IVpc
    ) -> ec2.SecurityGroup:
        """A backend is reached by name through Service Connect: an HTTP namespace as the
        cluster's default, and one group every long-running task joins (and backends admit).
        Created only with a backend, so other environments stay as they were."""
        self.cluster.add_default_cloud_map_namespace(
            name=cluster.cloud_map_namespace or f"{environment}.internal",
            type=servicediscovery.NamespaceType.HTTP,
            use_for_service_connect=True,
        )
        return ec2.SecurityGroup(
            self,
            "TaskSecurityGroup",
            vpc=vpc,
            description=f"{environment}: every service task; backends admit this group",
            allow_all_outbound=False,
        )
