"""Median time of every named query on a demo lake of a given size.

    python bench/bench_queries.py --clients 200000 --months 36 [--repeat 7]

The lake is generated once per size under bench/results/ and reused. Each query runs with the
parameters a page would use (latest month, year-on-year transition, all branches and one
branch); the first run (cold) is reported apart from the median of the warm runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tierflow.demo import generate_delivery  # noqa: E402
from tierflow.ingest import ingest  # noqa: E402
from tierflow.lake import Lake  # noqa: E402
from tierflow.queries import QueryRunner  # noqa: E402
from tierflow.settings import Settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def ensure_lake(clients: int, months: int, branches: int) -> Path:
    data_dir = RESULTS / f"lake-{clients}x{months}"
    if Lake(data_dir).current_version() is None:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            generate_delivery(Path(tmp), clients=clients, months=months, branches=branches)
            generated = time.perf_counter()
            ingest(Path(tmp), data_dir, Settings(), by="bench")
        print(f"demo lake {clients:,} × {months}: generated in {generated - started:.1f} s, "
              f"loaded in {time.perf_counter() - generated:.1f} s")
    return data_dir


def cases(runner: QueryRunner) -> list[tuple[str, dict]]:
    months = runner.lake.months()
    last, prev, year_ago = months[-1], months[-2], months[max(0, len(months) - 13)]
    branch = runner.run("retention_success").sort_values("closed_cases")["branch_id"].iloc[-1]
    return [
        ("tier_distribution", {"month": last}),
        ("tier_distribution", {"month": last, "branch_id": branch}),
        ("tier_transition", {"from_month": prev, "to_month": last}),
        ("tier_transition", {"from_month": year_ago, "to_month": last, "branch_id": branch}),
        ("cohort_retention", {}),
        ("cohort_retention", {"branch_id": branch}),
        ("retention_success", {}),
        ("retention_success", {"branch_id": branch}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--branches", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    runner = QueryRunner(ensure_lake(args.clients, args.months, args.branches))
    print(f"\n{'query':<20} {'parameters':<46} {'cold ms':>9} {'median ms':>10} {'rows':>6}")
    for name, params in cases(runner):
        timings = []
        for _ in range(args.repeat + 1):
            started = time.perf_counter()
            rows = len(runner.run(name, params))
            timings.append((time.perf_counter() - started) * 1000)
        shown = ", ".join(f"{k}={v}" for k, v in params.items()) or "(all)"
        print(f"{name:<20} {shown:<46} {timings[0]:>9.1f} "
              f"{statistics.median(timings[1:]):>10.1f} {rows:>6}")


if __name__ == "__main__":
    main()
