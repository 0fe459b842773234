"""`fargate-env diagram`: a valid PNG and SVG with the expected labels; one-line errors."""

from __future__ import annotations

import itertools
import re
import struct

import pytest
from typer.testing import CliRunner

from fargate_env.cli import app

runner = CliRunner()
LABELS = (
    "ALB",
    "listener HTTPS :443",
    "target group :8080",
    "ECS service (Fargate tasks)",
    "NAT gateway",
    "ECR repository",
    "log group",
    "SNS topic",
    "alarm",
    "us&#45;east&#45;1a",
    "public subnet",
    "private subnet",
    # Every service in its own cluster with its route.
    "service web (demo&#45;service&#45;web)",
    "service api (demo&#45;service&#45;api)",
    "path /api /api/*",
    "any request no other rule takes",
    "no match: 404",
    "demo/api",
)


def test_svg_and_png(tmp_path):
    svg, png = tmp_path / "a.svg", tmp_path / "a.png"
    for out in (svg, png):
        result = runner.invoke(app, ["diagram", "--out", str(out)])
        assert result.exit_code == 0, result.output
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "</svg>" in text
    for label in LABELS:
        assert label in text, label
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_suffix_is_exit_2(tmp_path):
    result = runner.invoke(app, ["diagram", "--out", str(tmp_path / "a.pdf")])
    assert result.exit_code == 2
    assert "use a .png or .svg" in result.stderr
    assert not (tmp_path / "a.pdf").exists()


def test_missing_dot_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    out = tmp_path / "a.png"
    result = runner.invoke(app, ["diagram", "--out", str(out)])
    assert result.exit_code == 2
    assert "graphviz 'dot' not found" in result.stderr
    assert not out.exists()


def test_never_overwrites_a_file_it_did_not_draw(tmp_path):
    mine = tmp_path / "photo.png"
    mine.write_bytes(b"\x89PNG\r\n\x1a\n my own picture")
    result = runner.invoke(app, ["diagram", "--out", str(mine)])
    assert result.exit_code == 2
    assert "was not drawn by fargate-env" in result.stderr
    assert mine.read_bytes() == b"\x89PNG\r\n\x1a\n my own picture"


def test_redraws_its_own_picture(tmp_path):
    out = tmp_path / "a.svg"
    for _ in range(2):
        result = runner.invoke(app, ["diagram", "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert "fargate-env diagram" in out.read_text()


def test_quickstart_shows_cloudfront_in_front_of_the_internal_alb(tmp_path):
    from fargate_env.config import load_config
    from fargate_env.diagram import build_graph
    from fargate_env.synth import synthesize
    from tests.conftest import ROOT

    config = load_config(ROOT / "environments" / "quickstart.toml")
    graph = build_graph(synthesize(config, tmp_path / "cdk.out", validation=False), "q")
    source = graph.source
    for label in (
        "CloudFront",
        "https://*.cloudfront.net",
        "redirect-to-https, no cache",
        "VPC origin",
        "http-only",
        "ALB\ninternal",
        "listener HTTP :80",
    ):
        assert label in source, label
    dist = next(line for line in source.splitlines() if "CloudFront" in line).split()[0]
    origin = next(line for line in source.splitlines() if "VPC origin" in line).split()[0]
    listener = next(line for line in source.splitlines() if "listener HTTP" in line).split()[0]
    assert f"internet -> {dist}" in source
    assert f"{dist} -> {origin}" in source
    alb = next(line for line in source.splitlines() if "ALB" in line).split()[0]
    assert f"{origin} -> {alb}" in source and f"{alb} -> {listener}" in source
    assert f"internet -> {listener}" not in source  # the listener is not on the internet


# --- the request path, the labels and the picture's shape -----------------------------------

LB = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
EDGE = re.compile(r'^\s*("[^"]+"|\S+) -> ("[^"]+"|\S+)(?: \[(.*)\])?$', re.MULTILINE)
# A readable picture: no wider than this many times its height (the quickstart was 4:1).
MAX_ASPECT = 2.5


@pytest.fixture(scope="module", params=["demo", "quickstart"])
def drawn(request, tmp_path_factory):
    from fargate_env.config import load_config
    from fargate_env.diagram import build_graph
    from fargate_env.synth import synthesize
    from tests.conftest import ROOT

    config = load_config(ROOT / "environments" / f"{request.param}.toml")
    out = tmp_path_factory.mktemp(request.param) / "cdk.out"
    stacks = synthesize(config, out, validation=False)
    return stacks, build_graph(stacks, request.param)


def edges(source: str) -> dict[tuple[str, str], str]:
    """(tail, head) -> the edge's attributes, names unquoted."""
    return {
        (tail.strip('"'), head.strip('"')): attrs or ""
        for tail, head, attrs in EDGE.findall(source)
    }


def test_request_path_is_one_directed_chain(drawn):
    stacks, graph = drawn
    found = edges(graph.source)
    shared = {rid: res for s in stacks if not s.service for rid, res in s.resources.items()}
    (alb,) = [rid for rid, res in shared.items() if res.type == LB]
    origins = [rid for rid, res in shared.items() if res.type == "AWS::CloudFront::VpcOrigin"]
    dists = [rid for rid, res in shared.items() if res.type == "AWS::CloudFront::Distribution"]
    chain = ["internet", *dists, *origins, alb]
    for tail, head in itertools.pairwise(chain):
        assert (tail, head) in found, (tail, head)
    listeners = [rid for rid, res in shared.items() if res.type == LISTENER]
    for listener in listeners:
        assert (alb, listener) in found and (listener, alb) not in found
        assert "arrowhead=none" not in found[(alb, listener)]
    for stack in (s for s in stacks if s.service and stacks.kind_of(s.service) == "web"):
        name = stack.service
        rule = next(iter(stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule")))
        group = next(iter(stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup")))
        service = next(iter(stack.of_type("AWS::ECS::Service")))
        assert any((lst, f"{name}.{rule}") in found for lst in listeners), name
        assert (f"{name}.{rule}", f"{name}.{group}") in found
        assert (f"{name}.{group}", f"{name}.{service}") in found


def test_no_label_overflows_its_shape(drawn):
    # Shapes whose outline cuts into the text (cds, component, doubleoctagon) are not used.
    _, graph = drawn
    assert not re.search(r"shape=(cds|component|doubleoctagon)", graph.source)


def test_picture_keeps_a_readable_aspect_ratio(drawn):
    _, graph = drawn
    png = graph.pipe(format="png")
    width, height = struct.unpack(">II", png[16:24])
    assert width / height <= MAX_ASPECT, (width, height)
    svg = graph.pipe(format="svg").decode()
    box = re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)"', svg)
    assert box and float(box.group(1)) / float(box.group(2)) <= MAX_ASPECT


def test_each_kind_is_drawn_where_it_lives(synth):
    """A backend inside the environment, called by name (never behind the ALB), a worker with
    its queue, a job with its schedule and the state machine that runs it."""
    from fargate_env.assembly import read_environment
    from fargate_env.diagram import build_graph
    from tests.kinds import BACKEND, JOB, KINDS, QUEUE, WORKER

    stacks = read_environment(synth(KINDS).outdir)
    source = build_graph(stacks, "kinds").source
    assert f"backend {BACKEND} (demo-service-{BACKEND})" in source
    assert f"worker {WORKER} (demo-service-{WORKER})" in source
    assert f"job {JOB} (demo-service-{JOB})" in source
    backend = stacks.service_of(BACKEND)
    target = f'"{BACKEND}.{backend.logical_id}"'
    callers = re.findall(
        rf'"?([\w.-]+)"? -> {re.escape(target)} \[label="http://{BACKEND}:8080"', source
    )
    assert {c.split(".")[0] for c in callers} == {"web", "api", WORKER}
    # No rule or target group forwards to it: nothing of the ALB's path reaches it.
    assert not re.search(rf"-> {re.escape(target)} \[label=(forward|targets)", source)
    assert f"SQS queue\n{QUEUE}" in source
    assert "schedule (EventBridge Scheduler)\ncron(0 3 * * ? *)\nEurope/Berlin" in source
    assert "state machine (Step Functions)\nstopped after 20 min" in source
    assert "one Fargate task a run\n0.25 vCPU / 0.5 GB, FARGATE_SPOT" in source
