"""Architecture picture drawn from the synthesized templates (graphviz `dot`).

AZs and subnets are clusters; the ALB, its listeners and target group, the ECS service, NAT,
ECR, log groups and alarms -> SNS are nodes. Cross-stack references are resolved by the logical
id inside the export name (`Fn::ImportValue` of "...:ExportsOutputRef<LogicalId>...").
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphviz

from fargate_env.assembly import StackSummary, read_assembly
from fargate_env.config import EnvironmentConfig
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


def _mentions(value: Any, logical_id: str) -> bool:
    return logical_id in json.dumps(value)


def _props(resource: dict) -> dict:
    return resource.get("Properties", {}) or {}


def _subnet_name(rid: str, props: dict) -> str:
    for tag in props.get("Tags", []):
        if tag.get("Key") == "aws-cdk:subnet-name":
            return tag["Value"]
    return "public" if props.get("MapPublicIpOnLaunch") else "private"


def _ref_id(endpoint: dict) -> str:
    """The logical id a VPC origin's endpoint ARN refers to (the ALB)."""
    arn = endpoint.get("Arn")
    return arn.get("Ref", "?") if isinstance(arn, dict) else "?"


def _nat_label(resource: dict) -> str:
    if resource["Type"] == "AWS::EC2::NatGateway":
        return "NAT gateway"
    return f"NAT instance\n{_props(resource).get('InstanceType', '')}"


def build_graph(stacks: list[StackSummary], title: str) -> graphviz.Digraph:
    """A dot graph of the environment: the shared stacks' resources by logical id, then one
    cluster per service stack (their logical ids repeat, so they are prefixed by service)."""
    service_stacks = [stack for stack in stacks if stack.service]
    resources: dict[str, dict] = {}
    for stack in stacks:
        if not stack.service:
            resources.update(stack.resources)
    by_type: dict[str, dict[str, dict]] = defaultdict(dict)
    for rid, res in resources.items():
        by_type[res["Type"]][rid] = res

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

    subnets = by_type["AWS::EC2::Subnet"]
    placed: dict[str, str] = {}  # resource -> subnet it sits in
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::Instance"):
        for rid, res in by_type[kind].items():
            props = _props(res)
            target = props.get("SubnetId") or props.get("NetworkInterfaces")
            for sid in subnets:
                if _mentions(target, sid):
                    placed[rid] = sid

    azs: dict[str, list[str]] = defaultdict(list)
    for sid, res in subnets.items():
        azs[str(_props(res).get("AvailabilityZone", "?"))].append(sid)
    with g.subgraph(name="cluster_vpc", graph_attr={"label": "VPC", "style": "dashed"}) as vpc:
        for az, members in sorted(azs.items()):
            with vpc.subgraph(name=f"cluster_{az}", graph_attr={"label": az}) as zone:
                for sid in sorted(members):
                    props = _props(subnets[sid])
                    name = _subnet_name(sid, props)
                    label = f"{name} subnet\n{props.get('CidrBlock', '')}"
                    fill = "#e6f4ea" if name == "public" else "#fef7e0"
                    zone.node(sid, label, shape="folder", fillcolor=fill)
                    for rid in (r for r, where in placed.items() if where == sid):
                        zone.node(rid, _nat_label(resources[rid]), fillcolor="#fce8e6")
                        zone.edge(sid, rid, style="invis")

    for rid in placed:
        g.edge(rid, "internet", label="egress", style="dashed")
    # Private subnets reach the NAT through their route table's default route.
    for route in by_type["AWS::EC2::Route"].values():
        rp = _props(route)
        nat = next((n for n in placed if _mentions(rp, n)), None)
        for assoc in by_type["AWS::EC2::SubnetRouteTableAssociation"].values():
            ap = _props(assoc)
            if nat and _mentions(
                ap.get("RouteTableId"), rp.get("RouteTableId", {}).get("Ref", "?")
            ):
                subnet = ap.get("SubnetId", {}).get("Ref")
                if subnet in subnets:
                    g.edge(subnet, nat, label="0.0.0.0/0", style="dashed")

    # The request path is one directed chain: internet -> (CloudFront -> VPC origin ->) ALB
    # -> listener -> rule -> target group -> service.
    albs = by_type["AWS::ElasticLoadBalancingV2::LoadBalancer"]
    reached: dict[str, str] = {}  # ALB -> what reaches it (the internet by default)
    for rid, res in by_type["AWS::CloudFront::Distribution"].items():
        dist = _props(res).get("DistributionConfig", {})
        behavior = dist.get("DefaultCacheBehavior", {})
        name = (dist.get("Aliases") or ["*.cloudfront.net"])[0]
        g.node(
            rid,
            f"CloudFront\nhttps://{name}\n{behavior.get('ViewerProtocolPolicy', '')}, no cache",
            fillcolor="#e8f0fe",
        )
        g.edge("internet", rid, label="HTTPS")
        for origin_id, origin in by_type["AWS::CloudFront::VpcOrigin"].items():
            if not _mentions(dist.get("Origins"), origin_id):
                continue
            endpoint = _props(origin).get("VpcOriginEndpointConfig", {})
            g.node(origin_id, f"VPC origin\n{endpoint.get('OriginProtocolPolicy', '')}")
            g.edge(rid, origin_id)
            if _ref_id(endpoint) in albs:
                reached[_ref_id(endpoint)] = origin_id
    for rid, res in albs.items():
        props = _props(res)
        g.node(rid, f"ALB\n{props.get('Scheme', 'internet-facing')}", fillcolor="#e8f0fe")
        g.edge(reached.get(rid, "internet"), rid, label="inside the VPC" if rid in reached else "")
        for sid in subnets:
            if _mentions(props.get("Subnets"), sid):
                g.edge(rid, sid, style="dotted", arrowhead="none", constraint="false")
    for rid, res in by_type["AWS::ElasticLoadBalancingV2::Listener"].items():
        props = _props(res)
        actions = [a.get("Type") for a in props.get("DefaultActions", [])]
        label = f"listener {props.get('Protocol', '')} :{props.get('Port', '')}"
        extra = "\n301 -> HTTPS" if "redirect" in actions else ""
        extra += "\nno match: 404" if "fixed-response" in actions else ""
        g.node(rid, label + extra, fillcolor="#e8f0fe")
        for lb in albs:
            if _mentions(props.get("LoadBalancerArn"), lb):
                g.edge(lb, rid)

    for stack in service_stacks:
        _service_cluster(g, stack, by_type)

    for rid, res in by_type["AWS::ECR::Repository"].items():
        g.node(rid, f"ECR repository\n{_props(res).get('RepositoryName', '')}", fillcolor="#f3e8fd")
    for rid, res in by_type["AWS::Logs::LogGroup"].items():
        days = _props(res).get("RetentionInDays")
        g.node(rid, f"log group\n{days or 'never-expire'} days", shape="note")
    for rid, res in by_type["AWS::EC2::FlowLog"].items():
        props = _props(res)
        g.node(rid, f"VPC flow log\n{props.get('TrafficType', '')}", shape="note")
        for lg in by_type["AWS::Logs::LogGroup"]:
            if _mentions(props.get("LogGroupName"), lg):
                g.edge(rid, lg)

    for rid in by_type["AWS::SNS::Topic"]:
        g.node(rid, "SNS topic\nalerts", shape="cylinder", fillcolor="#fce8e6")
    for rid, res in by_type["AWS::CloudWatch::Alarm"].items():
        props = _props(res)
        metric = props.get("MetricName") or "metric math"
        g.node(rid, f"alarm\n{metric}", shape="octagon", fillcolor="#fdecea")
        for topic in by_type["AWS::SNS::Topic"]:
            # Alarms name the topic by its ARN (topic name), not by a reference.
            g.edge(rid, topic, label="notifies")
    for rid in by_type["AWS::CloudWatch::Dashboard"]:
        g.node(rid, "CloudWatch dashboard", shape="tab")
    for rid in by_type["AWS::KMS::Key"]:
        g.node(rid, "KMS key", shape="hexagon")
        for topic in by_type["AWS::SNS::Topic"]:
            if _mentions(_props(resources[topic]).get("KmsMasterKeyId"), rid):
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
        stacks = read_assembly(assembly)
    title = (
        f"{config.name} ({config.region}): egress {config.network.egress},"
        f" edge {config.load_balancer.edge}"
    )
    return render(build_graph(stacks, title), out)


def _service_cluster(
    g: graphviz.Digraph,
    stack: StackSummary,
    by_type: dict[str, dict[str, dict]],
) -> None:
    """One service: its listener rules (routes), target group, ECS service, logs and alarms,
    wired to the shared listener, subnets, repository and topic."""
    name = stack.service or ""

    def node(rid: str) -> str:
        return f"{name}.{rid}"

    own = stack.resources
    with g.subgraph(
        name=f"cluster_service_{name}",
        graph_attr={"label": f"service {name} ({stack.name})", "style": "rounded"},
    ) as c:
        for rid, res in stack.of_type(_TARGET_GROUP).items():
            props = _props(res)
            c.node(
                node(rid),
                f"target group :{props.get('Port', '')}\nhealth"
                f" {props.get('HealthCheckPath', '/')}"
                f" every {props.get('HealthCheckIntervalSeconds', 30)} s",
            )
        for rid, res in stack.of_type(_RULE).items():
            props = _props(res)
            route = describe_conditions(props.get("Conditions", []))
            c.node(node(rid), f"rule {props.get('Priority')}\n{route}")
            for listener in by_type["AWS::ElasticLoadBalancingV2::Listener"]:
                if _mentions(props.get("ListenerArn"), listener):
                    g.edge(listener, node(rid))
            for tg in stack.of_type(_TARGET_GROUP):
                if _mentions(props.get("Actions"), tg):
                    c.edge(node(rid), node(tg), label="forward")
        for rid, res in stack.of_type("AWS::ECS::Service").items():
            props = _props(res)
            task = own.get((props.get("TaskDefinition") or {}).get("Ref", ""), {})
            tp = _props(task)
            size = f"{int(tp.get('Cpu', 0)) / 1024:g} vCPU / {int(tp.get('Memory', 0)) / 1024:g} GB"
            c.node(node(rid), f"ECS service (Fargate tasks)\n{size}", fillcolor="#fff4e5")
            for tg in stack.of_type(_TARGET_GROUP):
                if _mentions(props.get("LoadBalancers"), tg):
                    c.edge(node(tg), node(rid), label="targets")
            vpc_conf = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration", {})
            for sid in by_type["AWS::EC2::Subnet"]:
                if _mentions(vpc_conf.get("Subnets"), sid):
                    g.edge(node(rid), sid, style="dotted", arrowhead="none", label="runs in")
            for repo in by_type["AWS::ECR::Repository"]:
                if _mentions(tp.get("ContainerDefinitions"), repo):
                    g.edge(node(rid), repo, label="pulls image", style="dashed")
            for lg, lres in stack.of_type("AWS::Logs::LogGroup").items():
                days = _props(lres).get("RetentionInDays")
                c.node(node(lg), f"log group\n{days or 'never-expire'} days", shape="note")
                if _mentions(tp.get("ContainerDefinitions"), lg):
                    c.edge(node(rid), node(lg), label="logs", style="dashed")
        alarms = stack.of_type("AWS::CloudWatch::Alarm")
        if alarms:
            c.node(node("alarms"), f"{len(alarms)} alarms", shape="octagon", fillcolor="#fdecea")
            for topic in by_type["AWS::SNS::Topic"]:
                g.edge(node("alarms"), topic, label="notifies")


_TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
