"""Client buckets for the load's per-client window work (tierflow/warning_rules.py,
tierflow/dormancy.py): a window over every snapshot row, partitioned by client and ordered by
month, must hold a whole hash group of rows in memory; over all 40M rows of a 1M-client lake it
failed within DuckDB's 512 MB. So the work runs one bucket of clients at a time: a pass reads
the bucket's snapshot rows (``hash(client_id) % $buckets = $bucket``), only the columns the
rules use, once into the temp table ``bucket_rows``, every statement of the pass (the warnings,
every dormancy statement, their joins back included) reads that table, each writes a part file,
and a table is written from its parts in its own order.

The hash cannot skip row groups, so a read of the bucket scans the lake's client_id column:
reading it once a pass for warnings and dormancy together (`compute` with both jobs, as a load
does: tierflow/per_client.py), rather than in every statement (seven times a pass before),
took the two from 92 s to 45 s at 300k clients × 36 months (10.8M rows, two passes; two
cores shared with other jobs): the sorts by client and month are most of what is left.

A client's rows are all in one bucket, so a per-client rule sees exactly what it saw over the
whole lake: the table is the same whatever the number of buckets.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

import duckdb

from tierflow.lake import LOAD_MEMORY_LIMIT, copy_parquet

# The snapshot columns the passes read (warnings and dormancy), all a pass loads of its rows.
COLUMNS = ("client_id", "month_index", "month", "branch_id", "manager_id", "tier",
           "tier_rank", "aum", "present", "status", "txn_count", "last_txn_date", "turnover",
           "products_held", "fee_income")

# Snapshot rows one pass holds: 6M rows of COLUMNS take some 700 MB of DuckDB's memory in
# bucket_rows (measured at 300k clients), so the pass runs within 1 GB (LOAD_MEMORY_LIMIT, as
# the load's other statements; 512 MB before bucket_rows), the window over the slim numbers
# of the same rows spilling to the work folder what does not fit (peak 1.1 GiB resident).
# Smaller buckets hold less but scan the lake more: every pass reads all its client_ids (3M
# rows a pass were no faster at 300k clients, and twice the scans at 1M).
ROWS_PER_BUCKET = 6_000_000

LOAD_BUCKET = f"""
create or replace temp table bucket_rows as
select {", ".join(COLUMNS)}
from read_parquet($snapshots)
where hash(client_id) % $buckets = $bucket
"""


class Steps(Protocol):
    """A load's progress counter (tierflow/ingest.py's _Steps)."""

    def add(self, n: int) -> None: ...

    def tick(self, n: int = 1) -> None: ...


class Job(Protocol):
    """The work of one module over the buckets (tierflow/warning_rules.py's and
    tierflow/dormancy.py's ``Job``)."""

    def start(self, con: duckdb.DuckDBPyConnection, snapshots: list[str]) -> None:
        """Before the first pass (what the whole lake gives every pass)."""

    def one_pass(self, con: duckdb.DuckDBPyConnection, bucket: dict, work: Path,
                 n: int) -> None:
        """Write the parts of bucket `n` (`bucket`: its parameters) from ``bucket_rows``."""

    def finish(self, con: duckdb.DuckDBPyConnection, work: Path):
        """Write the tables from the parts; the result is what `compute` returns for it."""


def bucket_count(con: duckdb.DuckDBPyConnection, snapshots: list[str],
                 rows_per_bucket: int | None = None) -> int:
    """How many buckets keep a pass within `rows_per_bucket` rows (default ROWS_PER_BUCKET;
    row counts from the parquet footers: nothing is scanned)."""
    rows = con.execute("select coalesce(sum(num_rows), 0) from parquet_file_metadata($files)",
                       {"files": snapshots}).fetchone()[0]
    return max(1, -(-rows // (rows_per_bucket or ROWS_PER_BUCKET)))


def compute(snapshots: list[Path], work: Path, jobs: list[Job],
            memory_limit: str = LOAD_MEMORY_LIMIT, steps: Steps | None = None) -> list:
    """Run `jobs` over these snapshot files (every month of one version), one bucket of
    clients at a time: each pass loads ``bucket_rows`` once and runs every job's pass on it,
    one step of `steps` each. Returns each job's `finish`. `work` takes DuckDB's spill files
    and the parts, and is removed afterwards."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "parts").mkdir(exist_ok=True)
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(work),
                                 "preserve_insertion_order": False})
    files = [str(p) for p in snapshots]
    try:
        for job in jobs:
            job.start(con, files)
        count = bucket_count(con, files)
        if steps is not None:
            steps.add(count)
        for n in range(count):
            bucket = {"buckets": count, "bucket": n}
            con.execute(LOAD_BUCKET, {"snapshots": files, **bucket})
            for job in jobs:
                job.one_pass(con, bucket, work, n)
            if steps is not None:
                steps.tick()
        con.execute("drop table if exists bucket_rows")
        return [job.finish(con, work) for job in jobs]
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


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
