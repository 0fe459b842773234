"""Architecture picture drawn from the synthesized templates (graphviz `dot`).

AZs and subnets are clusters; the ALB, its listeners and target group, the ECS service, NAT,
ECR, log groups and alarms -> SNS are nodes. Cross-stack references are resolved by the logical
id inside the export name (`Fn::ImportValue` of "...:ExportsOutputRef<LogicalId>...").
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import graphviz

from fargate_env.assembly import (
    ALARM,
    DASHBOARD,
    FLOW_LOG,
    KMS_KEY,
    LOG_GROUP,
    NAT_GATEWAY,
    REPOSITORY,
    ROUTE,
    ROUTE_ASSOCIATION,
    SUBNET,
    TARGET_GROUP,
    TOPIC,
    Environment,
    Job,
    Resource,
    Service,
    Stack,
    TargetGroup,
    read_environment,
)
from fargate_env.config import EnvironmentConfig, service_of_stack
from fargate_env.errors import UserError
from fargate_env.summary import describe_conditions
from fargate_env.synth import assembly_of

FORMATS = {".png": "png", ".svg": "svg"}
# Written into every picture, so a later run knows the file is ours to replace.
MARK = "fargate-env diagram"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def mark(data: bytes, fmt: str) -> bytes:
    """The picture with MARK in it: an XML comment in SVG, a tEXt chunk after PNG's IHDR."""
    if fmt == "svg":
        head, sep, rest = data.partition(b"?>")
        comment = f"\n<!-- {MARK} -->".encode()
        return head + sep + comment + rest if sep else comment + data
    ihdr_end = len(_PNG_SIGNATURE) + 8 + 13 + 4  # length + type, 13 data bytes, CRC
    body = b"tEXt" + b"Software\x00" + MARK.encode()
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def refuse_foreign_file(out: Path) -> None:
    """Replace only a picture this command drew before: never a file the user made."""
    if out.is_symlink() or (out.exists() and not out.is_file()):
        raise UserError(f"--out {out}: is not a regular file; name a .png or .svg file")
    if out.exists() and MARK.encode() not in out.read_bytes()[:4096]:
        raise UserError(
            f"--out {out}: exists and was not drawn by fargate-env; refusing to overwrite it"
            " (remove it yourself or choose another name)"
        )


def _subnet_name(subnet: Resource) -> str:
    name = subnet.tag("aws-cdk:subnet-name")
    if name:
        return name
    return "public" if subnet.get("MapPublicIpOnLaunch") else "private"


def _nat_label(resource: Resource) -> str:
    if resource.type == NAT_GATEWAY:
        return "NAT gateway"
    return f"NAT instance\n{resource.get('InstanceType', '')}"


def build_graph(stacks: Environment, title: str) -> graphviz.Digraph:
    """A dot graph of the environment: the shared stacks' resources by logical id, then one
    cluster per service stack (their logical ids repeat, so they are prefixed by service)."""

    def shared(rtype: str) -> dict[str, Resource]:
        return stacks.of_type(rtype, shared=True)

    g = graphviz.Digraph(
        "environment",
        graph_attr={
            "label": title,
            "labelloc": "t",
            "rankdir": "TB",
            "fontname": "Helvetica",
            "compound": "true",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": "white",
            "fontname": "Helvetica",
        },
    )
    g.node("internet", "Internet", shape="ellipse", fillcolor="#e8f0fe")

    subnets = shared(SUBNET)
    nats = stacks.nats()
    placed: dict[str, str] = {}  # resource -> subnet it sits in
    for rid, res in nats.items():
        for sid in subnets:
            if res.mentions(sid, "SubnetId", "NetworkInterfaces"):
                placed[rid] = sid

    azs: dict[str, list[str]] = defaultdict(list)
    for sid, res in subnets.items():
        azs[str(res.get("AvailabilityZone", "?"))].append(sid)
    with g.subgraph(name="cluster_vpc", graph_attr={"label": "VPC", "style": "dashed"}) as vpc:
        for az, members in sorted(azs.items()):
            with vpc.subgraph(name=f"cluster_{az}", graph_attr={"label": az}) as zone:
                for sid in sorted(members):
                    subnet = subnets[sid]
                    name = _subnet_name(subnet)
                    label = f"{name} subnet\n{subnet.get('CidrBlock', '')}"
                    fill = "#e6f4ea" if name == "public" else "#fef7e0"
                    zone.node(sid, label, shape="folder", fillcolor=fill)
                    for rid in (r for r, where in placed.items() if where == sid):
                        zone.node(rid, _nat_label(nats[rid]), fillcolor="#fce8e6")
                        zone.edge(sid, rid, style="invis")

    for rid in placed:
        g.edge(rid, "internet", label="egress", style="dashed")
    # Private subnets reach the NAT through their route table's default route.
    for route in shared(ROUTE).values():
        nat = next((n for n in placed if route.mentions(n)), None)
        table = stacks.resolve(stacks.stack(route.stack), route.get("RouteTableId"))
        for assoc in shared(ROUTE_ASSOCIATION).values():
            if nat and table and assoc.mentions(table.logical_id, "RouteTableId"):
                subnet = stacks.resolve(stacks.stack(assoc.stack), assoc.get("SubnetId"))
                if subnet is not None and subnet.logical_id in subnets:
                    g.edge(subnet.logical_id, nat, label="0.0.0.0/0", style="dashed")

    # The request path is one directed chain: internet -> (CloudFront -> VPC origin ->) ALB
    # -> listener -> rule -> target group -> service.
    albs = {lb.logical_id: lb for lb in stacks.load_balancers()}
    reached: dict[str, str] = {}  # ALB -> what reaches it (the internet by default)
    for edge in stacks.edges():
        name = edge.name or "*.cloudfront.net"
        g.node(
            edge.logical_id,
            f"CloudFront\nhttps://{name}\n{edge.viewer_protocol_policy}, no cache",
            fillcolor="#e8f0fe",
        )
        g.edge("internet", edge.logical_id, label="HTTPS")
        for origin_id in edge.origins:
            g.node(origin_id, f"VPC origin\n{edge.origin_protocol(origin_id)}")
            g.edge(edge.logical_id, origin_id)
            target = edge.origin_target(origin_id)
            if target in albs:
                reached[target] = origin_id
    for rid, lb in albs.items():
        g.node(rid, f"ALB\n{lb.scheme}", fillcolor="#e8f0fe")
        g.edge(reached.get(rid, "internet"), rid, label="inside the VPC" if rid in reached else "")
        for sid in subnets:
            if lb.resource.mentions(sid, "Subnets"):
                g.edge(rid, sid, style="dotted", arrowhead="none", constraint="false")
    for listener in stacks.listeners():
        if service_of_stack(listener.resource.stack) is not None:
            continue
        rid, actions = listener.logical_id, listener.default_action_types
        label = f"listener {listener.protocol} :{listener.port}"
        extra = "\n301 -> HTTPS" if "redirect" in actions else ""
        extra += "\nno match: 404" if "fixed-response" in actions else ""
        g.node(rid, label + extra, fillcolor="#e8f0fe")
        if listener.load_balancer is not None:
            g.edge(listener.load_balancer.logical_id, rid)

    for stack in stacks.service_stacks():
        _service_cluster(g, stacks, stack)

    for rid, res in shared(REPOSITORY).items():
        g.node(rid, f"ECR repository\n{res.get('RepositoryName', '')}", fillcolor="#f3e8fd")
    log_groups = shared(LOG_GROUP)
    for rid, res in log_groups.items():
        days = res.get("RetentionInDays")
        g.node(rid, f"log group\n{days or 'never-expire'} days", shape="note")
    for rid, res in shared(FLOW_LOG).items():
        g.node(rid, f"VPC flow log\n{res.get('TrafficType', '')}", shape="note")
        for lg in log_groups:
            if res.mentions(lg, "LogGroupName"):
                g.edge(rid, lg)

    topics = shared(TOPIC)
    for rid in topics:
        g.node(rid, "SNS topic\nalerts", shape="cylinder", fillcolor="#fce8e6")
    for rid, res in shared(ALARM).items():
        metric = res.get("MetricName") or "metric math"
        g.node(rid, f"alarm\n{metric}", shape="octagon", fillcolor="#fdecea")
        for topic in topics:
            # Alarms name the topic by its ARN (topic name), not by a reference.
            g.edge(rid, topic, label="notifies")
    for rid in shared(DASHBOARD):
        g.node(rid, "CloudWatch dashboard", shape="tab")
    for rid in shared(KMS_KEY):
        g.node(rid, "KMS key", shape="hexagon")
        for topic, res in topics.items():
            if res.mentions(rid, "KmsMasterKeyId"):
                g.edge(topic, rid, label="encrypted by", style="dashed")
    return g


def render(graph: graphviz.Digraph, out: Path) -> Path:
    """Write the picture atomically: a failed render leaves no half-written file."""
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UserError(f"--out {out}: use a .png or .svg file name")
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise UserError(
            "graphviz 'dot' not found on PATH: install graphviz (apt-get install graphviz)"
        ) from None
    data = mark(data, fmt)
    refuse_foreign_file(out)
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise UserError(f"--out {out}: cannot write there ({exc.strerror})") from None
    return out


def write_diagram(
    config: EnvironmentConfig, out: Path, say: Callable[[str], None] = lambda line: None
) -> Path:
    """Draw `config` to `out` (.png or .svg) from ./cdk.out while it is fresh, else from a
    new synthesis (CDK validation off); `say` hears which."""
    if out.suffix.lower() not in FORMATS:
        raise UserError(f"--out {out}: use a .png or .svg file name")
    refuse_foreign_file(out)
    with assembly_of(config, say) as assembly:
        stacks = read_environment(assembly)
    title = (
        f"{config.name} ({config.region}): egress {config.network.egress},"
        f" edge {config.load_balancer.edge}"
    )
    return render(build_graph(stacks, title), out)


def _service_cluster(g: graphviz.Digraph, stacks: Environment, stack: Stack) -> None:
    """One service: its listener rules (routes), target group, ECS service, logs and alarms,
    wired to the shared listener, subnets, repository and topic."""
    name = stack.service or ""
    kind = stacks.kind_of(name) or "web"

    def node(rid: str) -> str:
        return f"{name}.{rid}"

    label = f"{'service' if kind == 'web' else kind} {name} ({stack.name})"
    with g.subgraph(
        name=f"cluster_service_{name}", graph_attr={"label": label, "style": "rounded"}
    ) as c:
        groups = {rid: TargetGroup(res) for rid, res in stack.of_type(TARGET_GROUP).items()}
        for rid, tg in groups.items():
            hc = tg.resource
            c.node(
                node(rid),
                f"target group :{tg.port}\nhealth"
                f" {hc.get('HealthCheckPath', '/')}"
                f" every {hc.get('HealthCheckIntervalSeconds', 30)} s",
            )
        for rule in stacks.rules(stack):
            route = describe_conditions(rule.conditions)
            label = f"rule {rule.resource.get('Priority')}\n{route}"
            c.node(node(rule.logical_id), label)
            if rule.listener is not None:
                g.edge(rule.listener.logical_id, node(rule.logical_id))
            for tg in groups:
                if rule.resource.mentions(tg, "Actions"):
                    c.edge(node(rule.logical_id), node(tg), label="forward")
        shared_subnets = stacks.of_type(SUBNET, shared=True)
        repositories = stacks.of_type(REPOSITORY, shared=True)
        for service in stacks.services(stack):
            rid, td = service.logical_id, service.task_definition
            cpu, memory = (td.cpu_units, td.memory_mib) if td else (0, 0)
            size = f"{cpu / 1024:g} vCPU / {memory / 1024:g} GB"
            c.node(node(rid), f"ECS service (Fargate tasks)\n{size}{_reach(service)}",
                   fillcolor="#fff4e5")  # fmt: skip
            _wire_kind(g, c, stacks, stack, service, node)
            for tg in groups:
                if service.resource.mentions(tg, "LoadBalancers"):
                    c.edge(node(tg), node(rid), label="targets")
            for sid in shared_subnets:
                if service.resource.mentions(sid, "NetworkConfiguration"):
                    g.edge(node(rid), sid, style="dotted", arrowhead="none", label="runs in")
            for repo in repositories:
                if td is not None and td.resource.mentions(repo, "ContainerDefinitions"):
                    g.edge(node(rid), repo, label="pulls image", style="dashed")
            for lg, lres in stack.of_type(LOG_GROUP).items():
                days = lres.get("RetentionInDays")
                c.node(node(lg), f"log group\n{days or 'never-expire'} days", shape="note")
                if td is not None and td.logs_to(lg):
                    c.edge(node(rid), node(lg), label="logs", style="dashed")
        job = stacks.job(stack)
        if job is not None:
            _job(g, c, stacks, job, node)
        alarms = stack.of_type(ALARM)
        if alarms:
            c.node(node("alarms"), f"{len(alarms)} alarms", shape="octagon", fillcolor="#fdecea")
            for topic in stacks.of_type(TOPIC, shared=True):
                g.edge(node("alarms"), topic, label="notifies")


# The queue metric a worker's step scaling watches (its alarms' MetricName).
QUEUE_METRIC = "ApproximateNumberOfMessagesVisible"


def _reach(service: Service) -> str:
    """What the service node says about how it is reached, by kind."""
    if service.kind == "backend" and service.connect_alias:
        dns, port = service.connect_alias
        return f"\nhttp://{dns}:{port} (Service Connect)"
    if service.kind == "worker":
        return "\nno port"
    return ""


def _wire_kind(
    g: graphviz.Digraph,
    c: graphviz.Digraph,
    stacks: Environment,
    stack: Stack,
    service: Service,
    node: Callable[[str], str],
) -> None:
    """A backend is called by name by every Service Connect client (inside the environment,
    never through the ALB); a worker reads its queue."""
    if service.kind == "backend" and service.connect_alias:
        dns, port = service.connect_alias
        for other in stacks.service_stacks():
            client = stacks.service(other)
            if other is stack or client is None or not client.uses_service_connect:
                continue
            g.edge(f"{other.service}.{client.logical_id}", node(service.logical_id),
                   label=f"http://{dns}:{port}", style="dashed", color="#1a73e8")  # fmt: skip
    for alarm in stack.of_type(ALARM).values():
        if alarm.get("MetricName") != QUEUE_METRIC:
            continue
        queue = next((d.get("Value") for d in alarm.get("Dimensions", ())
                      if d.get("Name") == "QueueName"), None)  # fmt: skip
        if isinstance(queue, str):
            c.node(node("queue"), f"SQS queue\n{queue}", shape="cylinder", fillcolor="#f3e8fd")
            c.edge(node("queue"), node(service.logical_id), label="messages (scales on depth)")
        return


def _job(
    g: graphviz.Digraph,
    c: graphviz.Digraph,
    stacks: Environment,
    job: Job,
    node: Callable[[str], str],
) -> None:
    """A job: its schedule starts the state machine, which runs one task per run."""
    schedule = node(job.schedule.logical_id)
    c.node(schedule, f"schedule (EventBridge Scheduler)\n{job.expression}\n{job.timezone}",
           shape="box", style="rounded,filled", fillcolor="#e8f0fe")  # fmt: skip
    td = job.task_definition
    task = node(td.resource.logical_id if td else "task")
    size = f"{job.cpu_units / 1024:g} vCPU / {job.memory_mib / 1024:g} GB"
    c.node(task, f"one Fargate task a run\n{size}, {job.capacity_provider}", fillcolor="#fff4e5")
    start = schedule
    if job.state_machine is not None:
        machine = node(job.state_machine.logical_id)
        bound = f"\nstopped after {job.timeout_minutes} min" if job.timeout_minutes else ""
        c.node(machine, f"state machine (Step Functions){bound}")
        c.edge(schedule, machine, label="starts")
        start = machine
    c.edge(start, task, label="runs, waits for exit code")
    # Drawn under the VPC, not beside the services: a row of clusters grows too wide to read.
    for sid in stacks.of_type(SUBNET, shared=True):
        g.edge(sid, schedule, style="invis")
    if td is None:
        return
    for repo in stacks.of_type(REPOSITORY, shared=True):
        if td.resource.mentions(repo, "ContainerDefinitions"):
            g.edge(task, repo, label="pulls image", style="dashed")
    for lg, lres in job.stack.of_type(LOG_GROUP).items():
        days = lres.get("RetentionInDays")
        c.node(node(lg), f"log group\n{days or 'never-expire'} days", shape="note")
        if td.logs_to(lg):
            c.edge(task, node(lg), label="logs", style="dashed")
