"""What switching to Spark costs on one machine: every named query's median time on local
Spark next to DuckDB, and the run time of the Spark equivalence tests.

    python bench/bench_spark.py [--data-dir DIR] [--master local[2]] [--repeat 3] [--no-suite]

DIR defaults to the demo lake bench/bench_queries.py generates (200,000 clients × 36 months).
Each named query runs once with the parameters its page uses (its first case in
bench_queries.cases, all branches) on both engines: a cold run, then the median of `--repeat`
warm runs. The Spark session is what `engine = "spark"` with that master starts, and its
start-up time is printed apart.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_queries import cases, ensure_lake  # noqa: E402
from tierflow.access import EVERYTHING  # noqa: E402
from tierflow.queries import QueryRunner  # noqa: E402
from tierflow.spark_engine import SparkEngine  # noqa: E402


def timed(run, repeat: int) -> tuple[float, float, int]:
    """Cold ms, median warm ms, rows."""
    timings = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        rows = run().num_rows
        timings.append((time.perf_counter() - started) * 1000)
    return timings[0], statistics.median(timings[1:]), rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, help="the lake (default: the 200,000 demo)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-suite", action="store_true", help="skip the equivalence tests")
    args = parser.parse_args()

    if not args.no_suite:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "spark",
                        "tests/test_spark_equivalence.py"], cwd=ROOT, check=True)
        print(f"equivalence tests (tests/test_spark_equivalence.py): "
              f"{time.perf_counter() - started:.0f} s\n")

    data_dir = args.data_dir or ensure_lake(200_000, 36, 60)
    duck = QueryRunner(data_dir).for_scope(EVERYTHING)
    started = time.perf_counter()
    spark = QueryRunner(data_dir, SparkEngine(args.master)).for_scope(EVERYTHING)
    print(f"Spark session ({args.master}) started in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    spark.run_arrow("branches")  # the lake version's views
    print(f"lake {data_dir}: {len(duck.lake.months())} months; Spark views "
          f"{time.perf_counter() - started:.1f} s")

    first_case = {}
    for name, params in cases(duck, one_branch=False):
        first_case.setdefault(name, params)
    print(f"\n{'query':<24} {'DuckDB cold':>11} {'median ms':>10} {'Spark cold':>11} "
          f"{'median ms':>10} {'× DuckDB':>9} {'rows':>8}")
    ratios = []
    for name, params in sorted(first_case.items()):
        d_cold, d_median, rows = timed(lambda: duck.run_arrow(name, params), args.repeat)
        s_cold, s_median, s_rows = timed(lambda: spark.run_arrow(name, params), args.repeat)
        assert s_rows == rows, f"{name}: {rows} rows on DuckDB, {s_rows} on Spark"
        ratios.append(s_median / d_median)
        print(f"{name:<24} {d_cold:>11.0f} {d_median:>10.0f} {s_cold:>11.0f} {s_median:>10.0f} "
              f"{s_median / d_median:>9.1f} {rows:>8}", flush=True)
    print(f"\nmedian of the ratios Spark / DuckDB: {statistics.median(ratios):.1f}")


if __name__ == "__main__":
    main()
