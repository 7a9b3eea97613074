"""Runtime of the detector evaluation harness on its default grid: prints figures and the table, asserts
nothing.

    .venv/bin/python bench/evaluation.py [--sites 20] [--years 5] [--seed 120]

Runs what ``vigil evaluate`` runs by default (every sentinel site of the default city, the default grid of
settings, one outbreak size) in this one process, and reports the time per site and per detector run, so a
change to a detector or to the harness shows up as a number. Needs no broker.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vigil.core.city import load_city  # noqa: E402
from vigil.surveillance.evaluation import Scenario, Site, default_grid, evaluate, warmup_days  # noqa: E402
from vigil.surveillance.evaluation_report import to_markdown  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=None, help="sites (default: all of the default city)")
    parser.add_argument("--years", type=int, default=5, help="evaluation years per site (default 5)")
    parser.add_argument("--seed", type=int, default=120)
    args = parser.parse_args()

    city_sites = load_city().sentinel_sites[: args.sites]
    scenario = Scenario(
        sites=tuple(Site(s.id, s.mean_daily_visits) for s in city_sites), years=args.years, seed=args.seed
    )
    grid = default_grid()
    days = warmup_days(grid) + scenario.years * 365
    t0 = time.perf_counter()
    rows = evaluate(
        scenario,
        grid,
        progress=lambda done, total, site: print(
            f"  {done}/{total} {site} {time.perf_counter() - t0:.1f}s", file=sys.stderr
        ),
    )
    elapsed = time.perf_counter() - t0
    runs = len(scenario.sites) * len(grid) * len(scenario.sizes)
    print(
        f"evaluation: {len(scenario.sites)} sites x {scenario.years} years ({days:,} days per series), "
        f"{len(grid)} settings: {elapsed:.1f}s ({elapsed / len(scenario.sites):.2f}s per site, "
        f"{1000 * elapsed / runs:.0f} ms per detector run)\n"
    )
    print(to_markdown(scenario, rows))


if __name__ == "__main__":
    main()
