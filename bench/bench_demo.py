"""Time the demo delivery generator and print what it wrote.

    python bench/bench_demo.py --clients 200000 --months 36

Prints wall-clock seconds, rows written per table, MB on disk and the peak resident memory of
this process (resource.getrusage), so figures can be compared across machines and changes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from tierflow.demo import generate_delivery, progress_total  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--branches", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tierflow-bench-") as tmp:
        units = []
        started = time.perf_counter()
        folder = generate_delivery(Path(tmp) / "delivery", clients=args.clients,
                                   months=args.months, branches=args.branches, seed=args.seed,
                                   progress=units.append)
        seconds = time.perf_counter() - started
        rows = _rows_written(folder)
        megabytes = sum(p.stat().st_size for p in folder.iterdir()) / 1e6

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(f"demo delivery: {args.clients:,} clients x {args.months} months, "
          f"{args.branches} branches, seed {args.seed}")
    print(f"  seconds      {seconds:10.1f}")
    for table, count in rows.items():
        print(f"  rows {table:<18}{count:12,}")
    print(f"  MB on disk   {megabytes:10.1f}")
    print(f"  peak RSS MB  {peak_mb:10.0f}")
    print(f"  progress     {sum(units)} of {progress_total(args.months)} units")


def _rows_written(folder: Path) -> Counter:
    """Data rows per table: parquet row counts from metadata, CSV lines minus the header."""
    rows: Counter = Counter()
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            rows["snapshots"] += pq.ParquetFile(path).metadata.num_rows
        else:
            with path.open("rb") as handle:
                rows[path.stem] = sum(1 for _ in handle) - 1
    return rows


if __name__ == "__main__":
    main()
