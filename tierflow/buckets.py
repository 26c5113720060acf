"""Client buckets for the load's per-client window work (tierflow/warning_rules.py,
tierflow/dormancy.py): a window over every snapshot row, partitioned by client and ordered by
month, must hold a whole hash group of rows in memory; over all 40M rows of a 1M-client lake it
failed within DuckDB's 512 MB. So the work runs one bucket of clients at a time (the SQL keeps
only rows with ``hash(client_id) % $buckets = $bucket``, joins back to the snapshots included),
each pass writes a part file, and the table is written from the parts in its own order.

A client's rows are all in one bucket, so a per-client rule sees exactly what it saw over the
whole lake: the table is the same whatever the number of buckets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

import duckdb

from tierflow.lake import copy_parquet

# Snapshot rows one pass holds: about 6M rows through a window fit DuckDB's 512 MB.
ROWS_PER_BUCKET = 6_000_000


class Steps(Protocol):
    """A load's progress counter (tierflow/ingest.py's _Steps)."""

    def add(self, n: int) -> None: ...

    def tick(self, n: int = 1) -> None: ...


def bucket_count(con: duckdb.DuckDBPyConnection, snapshots: list[str]) -> int:
    """How many buckets keep a pass within ROWS_PER_BUCKET rows (row counts from the parquet
    footers: nothing is scanned)."""
    rows = con.execute("select coalesce(sum(num_rows), 0) from parquet_file_metadata($files)",
                       {"files": snapshots}).fetchone()[0]
    return max(1, -(-rows // ROWS_PER_BUCKET))


def run(con: duckdb.DuckDBPyConnection, snapshots: list[str], work: Path,
        one_pass: Callable[[dict, int], None], steps: Steps | None = None) -> None:
    """Call `one_pass(bucket parameters, bucket number)` for every bucket of clients, one step
    each."""
    buckets = bucket_count(con, snapshots)
    if steps is not None:
        steps.add(buckets)
    (work / "parts").mkdir(parents=True, exist_ok=True)
    for bucket in range(buckets):
        one_pass({"buckets": buckets, "bucket": bucket}, bucket)
        if steps is not None:
            steps.tick()


def part(work: Path, table: str, bucket: int) -> Path:
    """Where a pass writes its rows of `table`."""
    return work / "parts" / f"{table}-{bucket:05d}.parquet"


def write_table(con: duckdb.DuckDBPyConnection, work: Path, table: str, order: str,
                out: Path) -> int:
    """Write the parts of `table` to `out` sorted by `order` (a column list of tierflow's own),
    in row groups of 64k rows: a month's rows are a row group or two, so a query of one month
    skips the rest (the warnings of one month at 200k clients: 1.0 s → 0.3 s). Returns the
    row count."""
    parts = [str(p) for p in sorted((work / "parts").glob(f"{table}-*.parquet"))]
    copy_parquet(con, f"select * from read_parquet($parts) order by {order}",
                 {"parts": parts}, out, row_group_size=65_536)
    return con.execute("select count(*) from read_parquet($out)",
                       {"out": str(out)}).fetchone()[0]
