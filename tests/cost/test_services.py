"""Per-service subtotals, the measured cost of one more service, and the 80-column bill."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.config import load_config
from fargate_env.cost.compare import current_bill
from fargate_env.cost.estimate import BillLine
from fargate_env.cost.marginal import marginal_service, price, probe_config
from fargate_env.cost.prices import PRICES
from fargate_env.cost.report import display_names, render_bill
from tests.conftest import ROOT, make_config

P = {k: v.usd for k, v in PRICES["us-east-1"].items()}
H = 730
OFFICE = 65 / 168  # ScheduleConfig's defaults: MON-FRI 07:00-20:00
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_bill():
    config = make_config()
    return config, current_bill(config)


def test_subtotals_sum_to_the_total(demo_bill):
    _, bill = demo_bill
    subtotals = bill.service_subtotals()
    assert list(subtotals) == ["web", "api"]
    # Sums of the lines as printed (each to the cent): they add up exactly, to the cent.
    assert round(bill.shared + sum(subtotals.values()), 2) == bill.total
    # A service's subtotal: its stack's lines plus its repository, nothing else.
    for name, usd in subtotals.items():
        own = [line for line in bill.lines if line.service == name]
        assert {line.stack for line in own} == {"demo-registry", f"demo-service-{name}"}
        assert [line.type for line in own if line.stack == "demo-registry"] == [
            "AWS::ECR::Repository"
        ]
        assert usd == round(sum(round(line.monthly_usd, 2) for line in own), 2)
        # The rounding, stated: at most half a cent per line away from the unrounded sum.
        assert usd == pytest.approx(sum(line.monthly_usd for line in own), abs=0.005 * len(own))
    shared_stacks = {line.stack for line in bill.lines if line.service is None}
    assert shared_stacks == {"demo-network", "demo-platform", "demo-alerts", "demo-monitoring"}


def test_marginal_service_by_hand_from_the_price_table(demo_bill):
    config, _ = demo_bill
    marginal = marginal_service(config)
    u = config.cost.usage
    alarm = P["alarm_metric_month"]
    spot_task = 0.25 * P["fargate_spot_x86_vcpu_hour"] + 0.5 * P["fargate_spot_x86_gb_hour"]
    logs = u.log_ingest_gb_month * (
        P["logs_ingest_gb"] + 14 / (365 / 12) * P["logs_stored_gb_month"]  # 14-day retention
    )
    ecr = u.ecr_storage_gb * P["ecr_gb_month"]
    target_tracking = 2 * alarm  # the CPU policy's high and low alarms
    # The deployment's 5xx-rate rollback alarm: two metrics (it also watches UnhealthyHosts).
    rollback = 2 * alarm
    # 20 rolling deploys a month, each one more task for 30 s (register 20 s + drain 10 s).
    deploys = u.deploys_per_month * 30 / 3600 * spot_task
    # Six alarms of one metric each.
    always_on = H * spot_task + 6 * alarm + target_tracking + rollback + deploys + logs + ecr
    # On a schedule the service may run no task: NoHealthyHosts becomes a metric-math alarm
    # gated on running tasks, billed for its two metrics.
    # Its tasks log only while they run: ingest (and so storage) scale with OFFICE.
    office_hours = (
        H * OFFICE * spot_task + 7 * alarm + target_tracking + rollback + deploys
        + OFFICE * logs + ecr
    )  # fmt: skip
    assert marginal.template == "web"
    assert marginal.monthly_usd["always_on"] == pytest.approx(always_on, abs=0.01)
    assert marginal.monthly_usd["office_hours"] == pytest.approx(office_hours, abs=0.01)
    assert "goal" not in json.dumps(marginal.to_json())


def test_probe_is_a_routed_clone_whose_stack_is_the_whole_difference(demo_bill, tmp_path):
    config, bill = demo_bill
    probe = probe_config(config, office_hours=False)
    assert list(probe.services) == ["web", "api", "marginal-probe"]
    clone = probe.services["marginal-probe"]
    assert (clone.cpu, clone.memory, clone.capacity) == (256, 512, config.services["web"].capacity)
    assert clone.routing.path_patterns == ["/marginal-probe/*"] and not clone.routing.default
    assert probe.repository_name("marginal-probe") == "demo/marginal-probe"
    assert probe_config(config, office_hours=True).services["marginal-probe"].schedule
    priced = price(probe, tmp_path / "probe")
    # Adding a service changes no shared line: the difference is the new service's own lines.
    assert priced.shared == bill.shared
    assert priced.service_subtotals()["marginal-probe"] == pytest.approx(
        priced.exact_total - bill.exact_total, abs=0.005
    )


def test_json_has_services_and_marginal_keys():
    result = runner.invoke(app, ["cost", "--env", "demo", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [s["name"] for s in data["services"]]
    assert names == ["web", "api", "orders", "nightly"]  # the demo's services, in file order
    assert data["services"][0] == {"name": "web", "kind": "web", "monthly_usd": data[
        "services"][0]["monthly_usd"]}  # fmt: skip
    assert set(data["kinds"]) == {"web", "backend", "job"}
    services = sum(s["monthly_usd"] for s in data["services"])
    assert data["shared_monthly_usd"] + services == pytest.approx(
        data["total_monthly_usd"], abs=0.015
    )
    marginal = data["marginal_service_monthly_usd"]
    assert set(marginal) == {"always_on", "office_hours"}
    assert 0 < marginal["office_hours"] < marginal["always_on"]


ROW = re.compile(r"^  (\S.*?)\s{2,}(\d+\.\d\d)\s")
HEAD = re.compile(r"^(\S+)\s{2,}(\d+\.\d\d)\s")


def test_bill_fits_80_columns_with_distinct_names():
    result = runner.invoke(app, ["cost", "--env", "demo"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, too_wide
    rows: dict[str, list[str]] = {}
    stack = None
    for line in lines:
        if stack and not line.strip():  # the end of the table; the summary follows
            break
        if (head := HEAD.match(line)) and head.group(1).startswith("demo-"):
            stack = head.group(1)
            rows[stack] = []
        elif (row := ROW.match(line)) and stack:
            rows[stack].append(row.group(1))
    assert set(rows) >= {"demo-network", "demo-platform", "demo-service-web"}
    for stack, names in rows.items():
        assert len(names) == len(set(names)), (stack, names)
    # Every bill line is shown (per service: the rollback alarm and the deploys' task-hours).
    demo = load_config(ROOT / "environments" / "demo.toml")
    assert sum(len(names) for names in rows.values()) == len(current_bill(demo).lines)
    text = result.stdout
    assert "shared" in text and "service web" in text
    # The user's figures, not our targets for them.
    assert re.search(r"^  always on\s+\$\d+\.\d\d/month$", text, re.MULTILINE)
    assert re.search(r"^  office hours\s+\$\d+\.\d\d/month$", text, re.MULTILINE)
    assert "goal" not in text


def test_wide_terminal_shows_types_and_full_basis(demo_bill):
    # A Console of its own: under xdist the CLI's console is pinned at COLUMNS=80.
    _, bill = demo_bill
    out = Console(width=160, file=io.StringIO())
    render_bill(out, bill, "demo", 80.0)
    text = out.file.getvalue()
    assert "EC2::NatGateway" in text
    assert "730 h x $0.045/h + 5 GB processed (assumed) x $0.045/GB" in text
    assert max(len(line) for line in text.splitlines()) <= 160


def line(resource: str, item: str = "x") -> BillLine:
    return BillLine("s", resource, "AWS::X::Y", 1.0, "basis", item)


def test_display_names_never_collide():
    lines = [
        line("VpcpublicSubnet1NATGatewayA036E8A6"),
        line("VpcpublicSubnet1EIP411541E6"),
        line("FirstScopeLongConstructNameAB12CD34"),
        line("SecondScopeLongConstructName12AB34CD"),
        line("Alb16C2F182", "alb-hours"),
        line("Alb16C2F182", "alb-lcu"),
        line("Alb16C2F182 public IPv4", "alb-public-ipv4"),
    ]
    names = display_names(lines, 16)
    assert len(set(names.values())) == len(lines)
    assert all(len(name) <= 16 for name in names.values())
    assert names[0] != names[1]
    assert (names[4], names[5], names[6]) == ("Alb hours", "Alb LCU", "Alb public IPv4")


MONEY_ROW = re.compile(r"^(\S.*?|  \S.*?)\s{2,}(\d+\.\d\d)(?:\s{2,}(.*?))?\s*$")


def test_printed_bill_adds_up_and_names_each_services_parts():
    """What a reader adds on screen is what is printed: lines -> stack subtotals -> total,
    and total = shared + each service, each service = its named parts."""
    result = runner.invoke(app, ["cost", "--env", "demo"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rule = [i for i, line in enumerate(lines) if set(line.strip()) == {"─"}]
    end = next(i for i in range(rule[0] + 1, len(lines)) if not lines[i].strip())
    stacks: dict[str, tuple[float, list[float]]] = {}
    current = ""
    for line in lines[rule[0] + 1 : end]:
        if line.startswith(" " * 30):  # a basis wrapped onto a line of its own
            continue
        match = MONEY_ROW.match(line)
        assert match, line
        name, usd = match.group(1), float(match.group(2))
        if name.startswith("  "):
            stacks[current][1].append(usd)
        else:
            current = name
            stacks[current] = (usd, [])
    for stack, (subtotal, figures) in stacks.items():
        assert round(sum(figures), 2) == subtotal, stack
    summary = {}
    for line in lines[end + 1 :]:
        if match := MONEY_ROW.match(line):
            # "  service web" sits under its kind's row ("web services (2)").
            summary[match.group(1).strip()] = (float(match.group(2)), match.group(3) or "")
        else:
            break
    total = summary["total"][0]
    assert round(sum(subtotal for subtotal, _ in stacks.values()), 2) == total
    services = {name: row for name, row in summary.items() if name.startswith("service ")}
    assert set(services) == {f"service {n}" for n in ("web", "api", "orders", "nightly")}
    assert round(summary["shared"][0] + sum(usd for usd, _ in services.values()), 2) == total
    for name, (usd, basis) in services.items():
        parts = dict(
            (part, float(figure))
            for part, figure in re.findall(r"(its [a-zA-Z ]+?) (\d+\.\d\d)", basis)
        )
        assert set(parts) == {"its stack", "its ECR repository"}, basis
        assert round(sum(parts.values()), 2) == usd
        # Its stack's figure is the one its stack's header shows: one figure, named parts.
        stack = f"demo-service-{name.removeprefix('service ')}"
        assert parts["its stack"] == stacks[stack][0]
    assert "your budget, 90.00" in summary["total"][1]
    assert "goal" not in result.output


def test_no_internal_goal_in_product_code():
    """Our targets live in bench/ and tests, never in what a command prints."""
    src = ROOT / "src" / "fargate_env"
    hits = [
        f"{path.relative_to(src)}:{n}"
        for path in src.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "goal" in line.lower()
    ]
    assert not hits, hits
