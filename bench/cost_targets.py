"""Our cost targets, measured: the figures `fargate-env cost` prints, set against the goals the
issues fixed for them. The goals live here (and in the closing notes), never in product output,
which speaks of the user's own budget only.

Prints figures; it is not a pass/fail test.
  one more service (0.25 vCPU / 0.5 GB Spot, with its alarms and logs), demo:
      always on <= $4.50/month, office hours <= $2.50/month (issue 10);
  one preview of it, demo: <= $0.10 per day alive (issue 12);
  the cheapest profile with HTTPS, health checks, autoscaling and alarms, quickstart (one
  service): <= $22.50/month (issue 16), and on the internet-facing ALB <= 1.25 x its floor
  (issue 8).

Run: .venv/bin/python bench/cost_targets.py [--no-compare]   (--compare synthesizes ~40 variants)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from fargate_env.config import load_config
from fargate_env.cost.compare import compare, current_bill
from fargate_env.cost.marginal import marginal_service
from fargate_env.cost.preview import preview_cost

ROOT = Path(__file__).resolve().parents[1]
MARGINAL_GOALS_USD = {"always_on": 4.50, "office_hours": 2.50}
PREVIEW_GOAL_USD_PER_DAY = 0.10
CHEAPEST_GOAL_USD = 22.50
ALB_FLOOR_GOAL_RATIO = 1.25


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-compare", action="store_true", help="skip the profile comparison")
    args = parser.parse_args()

    demo = load_config(ROOT / "environments" / "demo.toml")
    bill = current_bill(demo)
    marginal = marginal_service(demo, bill)
    for key, goal in MARGINAL_GOALS_USD.items():
        usd = marginal.monthly_usd[key]
        print(f"one more service, {key}: ${usd:.2f}/month  [goal <= ${goal:.2f}: "
              f"{verdict(usd <= goal)}]")  # fmt: skip
    preview = preview_cost(demo, bill)
    if preview is not None:
        per_day = round(preview.per_day_usd, 4)
        print(f"one preview: ${per_day:.4f}/day  [goal <= ${PREVIEW_GOAL_USD_PER_DAY:.2f}: "
              f"{verdict(per_day <= PREVIEW_GOAL_USD_PER_DAY)}]")  # fmt: skip
    if args.no_compare:
        return
    quickstart = load_config(ROOT / "environments" / "quickstart.toml")
    result = compare(quickstart, current_bill(quickstart))
    best = result.cheapest_with_essentials
    if best is not None:
        total, ok = best.bill.total, best.bill.total <= CHEAPEST_GOAL_USD
        print(f"quickstart cheapest with the essentials: {best.variant.label} = ${total:.2f}"
              f"  [goal <= ${CHEAPEST_GOAL_USD:.2f}: {verdict(ok)}]")  # fmt: skip
    alb = result.cheapest_of_edge("alb")
    floor = result.floors.get("alb")
    if alb is not None and floor:
        ratio = alb.bill.total / floor
        print(f"quickstart cheapest on the ALB: ${alb.bill.total:.2f} = {ratio:.2f} x its floor"
              f" ${floor:.2f}  [goal <= {ALB_FLOOR_GOAL_RATIO}: "
              f"{verdict(ratio <= ALB_FLOOR_GOAL_RATIO)}]")  # fmt: skip


if __name__ == "__main__":
    main()
