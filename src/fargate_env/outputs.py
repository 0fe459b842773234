"""Stack parts and CloudFormation output keys: the contract between the stacks and the ops tools.

Shared stacks are "<env>-<part>"; each service has its own "<env>-service-<name>" stack whose
outputs carry the plain keys below. The registry holds one repository per service, so its
outputs are keyed per service (`per_service`).
"""

NETWORK = "network"
REGISTRY = "registry"
PLATFORM = "platform"
ALERTS = "alerts"
MONITORING = "monitoring"
# With load_balancer.preview_domain: "<env>-previews" (wildcard certificate and record).
PREVIEWS = "previews"
# Deployment order of the shared stacks; service stacks come between ALERTS and MONITORING.
SHARED_PARTS = (NETWORK, REGISTRY, PLATFORM, ALERTS, MONITORING)

# RegistryStack, per service
REPOSITORY_URI = "RepositoryUri"
REPOSITORY_NAME = "RepositoryName"
# PlatformStack
LOAD_BALANCER_DNS = "LoadBalancerDnsName"
BASE_URL = "BaseUrl"
LISTENER_ARN = "ListenerArn"
CLUSTER_NAME = "ClusterName"
# PlatformStack with load_balancer.edge = "cloudfront" (BaseUrl is then https://<this name>)
DISTRIBUTION_DOMAIN = "DistributionDomainName"
DISTRIBUTION_ID = "DistributionId"
# ServiceStack (one per service)
SERVICE_NAME = "ServiceName"
TARGET_GROUP_ARN = "TargetGroupArn"
LOG_GROUP_NAME = "LogGroupName"
TASK_ROLE_ARN = "TaskRoleArn"
# A job's stack: what `run-job` hands RunTask (the cluster is the platform's ClusterName).
TASK_DEFINITION_ARN = "TaskDefinitionArn"
TASK_SUBNETS = "TaskSubnets"
TASK_SECURITY_GROUP = "TaskSecurityGroup"
ASSIGN_PUBLIC_IP = "AssignPublicIp"
CAPACITY_PROVIDER = "CapacityProvider"
SCHEDULE_NAME = "ScheduleName"
# The state machine a scheduled run goes through (timeout, start retries, exit-code check):
# `run-job` may start an execution of it to get exactly a scheduled run's behaviour.
STATE_MACHINE_ARN = "StateMachineArn"
# AlertsStack
TOPIC_ARN = "TopicArn"
# MonitoringStack
DASHBOARD_URL = "DashboardUrl"


def per_service(key: str, service: str) -> str:
    """An output key for one service in a shared stack: RepositoryUri + "web-api" -> ...WebApi."""
    return key + "".join(word.capitalize() for word in service.split("-"))


def service_url(base_url: str, host: str | None, path: str) -> str:
    """A service's URL: the platform's BaseUrl output, with the service's own host and path
    (config.EnvironmentConfig.service_endpoint) where its route names them."""
    scheme, _, default_host = base_url.partition("://")
    return f"{scheme}://{host or default_host.rstrip('/')}{path}"
