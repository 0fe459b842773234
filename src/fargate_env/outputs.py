"""Stack parts and CloudFormation output keys: the contract between the stacks and the ops tools."""

NETWORK = "network"
REGISTRY = "registry"
LOAD_BALANCER = "load-balancer"
SERVICE = "service"
MONITORING = "monitoring"
STACK_PARTS = (NETWORK, REGISTRY, LOAD_BALANCER, SERVICE, MONITORING)

# RegistryStack
REPOSITORY_URI = "RepositoryUri"
REPOSITORY_NAME = "RepositoryName"
# LoadBalancerStack
LOAD_BALANCER_DNS = "LoadBalancerDnsName"
SERVICE_URL = "ServiceUrl"
TARGET_GROUP_ARN = "TargetGroupArn"
LISTENER_ARN = "ListenerArn"
# ServiceStack
CLUSTER_NAME = "ClusterName"
SERVICE_NAME = "ServiceName"
LOG_GROUP_NAME = "LogGroupName"
TASK_ROLE_ARN = "TaskRoleArn"
# MonitoringStack
TOPIC_ARN = "TopicArn"
DASHBOARD_URL = "DashboardUrl"
