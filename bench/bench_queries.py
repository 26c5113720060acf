"""Median time of every named query on a demo lake of a given size.

    python bench/bench_queries.py --clients 200000 --months 36 [--repeat 7] [--data-dir DIR]
                                  [--user NAME]

The lake is generated once per size under bench/results/ and reused. Each query runs with the
parameters a page would use (latest month, year-on-year transition, all branches and one
branch); the first run (cold) is reported apart from the median of the warm runs. With
`--user NAME` (a user of the data folder's users file) the queries run in that user's scope,
without a branch parameter: what a branch head's or analyst's pages cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import subprocess
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tierflow.access import EVERYTHING, UserStore  # noqa: E402
from tierflow.lake import Lake  # noqa: E402
from tierflow.queries import QueryRunner, ScopedRunner, catalog  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def ensure_lake(clients: int, months: int, branches: int) -> Path:
    """The demo lake of this size, generated and loaded by `python -m tierflow demo` (with its
    progress bars, and the demo users the page timings sign in as) the first time; later runs
    only add the demo users if the folder has none."""
    data_dir = RESULTS / f"lake-{clients}x{months}"
    started = time.perf_counter()
    made = Lake(data_dir).current_version() is None
    subprocess.run([sys.executable, "-m", "tierflow", "--data-dir", str(data_dir), "demo",
                    "--clients", str(clients), "--months", str(months),
                    "--branches", str(branches), "--if-missing"], check=True,
                   cwd=RESULTS.parent.parent)
    if made:
        print(f"demo lake {clients:,} × {months}: {time.perf_counter() - started:.0f} s")
    return data_dir


def cases(runner: ScopedRunner, one_branch: bool = True) -> list[tuple[str, dict]]:
    """Every named query with the parameters its page uses (all branches, then one)."""
    months = runner.lake.months()
    last, prev, year_ago = months[-1], months[-2], months[max(0, len(months) - 13)]
    branch = [runner.run("retention_success").sort_values("closed_cases")["branch_id"].iloc[-1]]
    # the Clients page's first page of the month: its names are looked up by id
    page = runner.run("client_list", {"month": last, "page_rows": 1_000})["client_id"].tolist()
    client = page[0]
    cohort = runner.run("cohort_retention")["cohort_month"].iloc[0]
    year = {"from_date": f"{year_ago}-01", "to_date": f"{last}-28"}
    span = {"from_month": prev, "to_month": last}
    reactivation_year = {"from_month": months[max(0, len(months) - 12)], "to_month": last}
    # the to-do lists' week and quarter around the last day of the last month
    last_day = dt.date(int(last[:4]) + int(last[5:]) // 12, int(last[5:]) % 12 + 1, 1) \
        - dt.timedelta(days=1)
    monday = last_day - dt.timedelta(days=last_day.weekday())
    week = {"from_date": monday, "to_date": monday + dt.timedelta(days=6), "month": last}
    first = (last_day.month - 1) // 3 * 3 + 1
    quarter = {"from_date": dt.date(last_day.year, first, 1), "to_date": last_day}
    listed = [
        ("monthly_totals", {}), ("churn_monthly", {}), ("branch_league", {"month": last}),
        ("branch_aum_trend", {}), ("retention_by_dimension", {"dimension": "closed_month"}),
        ("tier_trend", {}), ("branch_tiers", {"month": last}),
        ("tier_key_figures", {"month": last}), ("wealth_concentration", {"month": last}),
        ("tier_distribution", {"month": last}),
        # the month before and a year back read the stored pairs; two months back joins the rows
        ("tier_transition", span), ("tier_transition", {**span, "from_month": year_ago}),
        ("tier_transition", {**span, "from_month": months[-3]}),
        ("aum_bridge", span), ("migration_by_group", {**span, "group_by": "manager"}),
        ("transition_clients", {**span, "from_tier": "gold", "to_tier": "mass"}),
        # a drill-through as the Clients page asks for it: one page and the list's totals
        ("transition_clients", {**span, "from_tier": "gold", "to_tier": "mass",
                                "page_rows": 1000}),
        ("cohort_retention", {}), ("cohort_breakdown", {}), ("lifecycle", {}),
        ("cohort_clients", {"cohort_month": cohort, "months_since": 3}),
        ("cohort_clients", {"cohort_month": cohort, "months_since": 3, "page_rows": 1000}),
        ("retention_success", year), ("retention_funnel", year), ("contact_delay", year),
        ("post_case_aum", year), ("retention_ledger", year),
        ("client_list", {"month": last}), ("client_history", {"client_id": client}),
        ("client_cases", {"client_id": client}), ("client_details", {"client_id": page}),
        ("branches", {}), ("managers", {}),
        ("dormancy_trend", {}), ("dormant_clients", {"month": last}),
        ("reactivated_clients", reactivation_year), ("reactivation_depth", reactivation_year),
        ("reactivation_survival", {}),
        ("todo_maturities", week), ("todo_birthdays", week), ("todo_new_clients", week),
        ("todo_vip_changes", quarter), ("manager_books", {"month": last}),
        ("unassigned_clients", {"month": last}),
        # the warnings page: this month's list and coverage (total, by rule and branch), today
        ("warnings", {"month": last}), ("warnings", {"month": last, "raised_on": last_day}),
        ("warning_coverage", {"dimension": "total", "month": last}),
        ("warning_coverage", {"dimension": "rule", "month": last}),
        ("warning_coverage", {"dimension": "branch", "month": last}),
        ("warnings", {}),  # every month: the command line's export
    ]
    missing = set(catalog()) - {name for name, _ in listed}
    assert not missing, f"bench has no case for {missing}"
    with_branch = [(n, {**p, "branch_id": branch}) for n, p in listed
                   if any(q.name == "branch_id" for q in catalog()[n].parameters)]
    return listed + with_branch if one_branch else listed
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--branches", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, help="measure this lake instead of a generated one")
    parser.add_argument("--user", help="run in this user's scope (from the users file)")
    args = parser.parse_args()

    data_dir = args.data_dir or ensure_lake(args.clients, args.months, args.branches)
    queries = QueryRunner(data_dir)
    runner = queries.for_scope(EVERYTHING)
    measured = cases(runner, one_branch=not args.user)
    if args.user:
        user = UserStore(data_dir).require(args.user)
        runner = queries.for_scope(user.scope())
        print(f"as {user.name} ({user.role}, scope {user.scope()})")
    print(f"lake {data_dir}: {len(runner.lake.months())} months")
    print(f"\n{'query':<24} {'parameters':<50} {'cold ms':>9} {'median ms':>10} {'rows':>7}")
    for name, params in measured:
        timings = []
        for _ in range(args.repeat + 1):
            started = time.perf_counter()
            rows = len(runner.run(name, params))
            timings.append((time.perf_counter() - started) * 1000)
        shown = ", ".join(f"{k}={v}" for k, v in params.items())[:50] or "(all)"
        print(f"{name:<24} {shown:<50} {timings[0]:>9.1f} "
              f"{statistics.median(timings[1:]):>10.1f} {rows:>7}")


if __name__ == "__main__":
    main()
