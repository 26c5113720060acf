"""Client buckets for the load's per-client window work (tierflow/warning_rules.py,
tierflow/dormancy.py): a window over every snapshot row, partitioned by client and ordered by
month, must hold a whole hash group of rows in memory; over all 40M rows of a 1M-client lake it
failed within DuckDB's 512 MB. So the work runs one bucket of clients at a time: a pass reads
the bucket's snapshot rows (``hash(client_id) % $buckets = $bucket``), only the columns the
rules use, once into the temp table ``bucket_rows``, every statement of the pass (the warnings,
every dormancy statement, their joins back included) reads that table, each writes a part file,
and a table is written from its parts in its own order.

The hash cannot skip row groups, so reading a bucket straight from the lake scans every row's
client_id: about 85 s a bucket at 5M clients × 36 months, times 32 buckets. So the rows are
first split into a file per bucket in one pass (`split`: 35 s for all 40M rows of 1M clients,
where reading each of 7 buckets by its hash took 12 s) and a pass reads its own file (1 s).
The passes of warnings and dormancy share the split and a bucket's temp table (`compute` with
both jobs, as a load does: tierflow/per_client.py).

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
# bucket_rows (measured at 300k clients), so the pass runs within LOAD_MEMORY_LIMIT, as the
# load's other statements, the window over the slim numbers of the same rows spilling to the
# work folder what does not fit (peak 1.1 GiB resident).
ROWS_PER_BUCKET = 6_000_000

# Rows the split buffers for each bucket before writing them out (DuckDB's default is 512k):
# with 32 buckets the default peaked at 1.9 GiB resident, this at 0.8 GiB, 10% slower.
SPLIT_FLUSH_ROWS = 32_768

LOAD_BUCKET = """
create or replace temp table bucket_rows as
select * from read_parquet($files, hive_partitioning = false)
"""


def split(con: duckdb.DuckDBPyConnection, snapshots: list[str], columns: tuple[str, ...],
          count: int, out: Path, present_only: bool = False) -> list[list[str]]:
    """Write `columns` (tierflow's own names) of the snapshot rows (only the present ones with
    `present_only`) into a folder per bucket of clients under `out`, in one scan of the lake;
    return each bucket's files. A bucket no client fell in gets an empty file with the
    columns."""
    rows = (f"select {', '.join(columns)}, hash(client_id) % $buckets as bucket "
            "from read_parquet($snapshots) where present or not $present_only")
    params = {"snapshots": snapshots, "buckets": count, "present_only": present_only}
    con.execute("set partitioned_write_flush_threshold = $rows", {"rows": SPLIT_FLUSH_ROWS})
    copy_parquet(con, rows, params, out, partition_by="bucket")
    files = []
    for n in range(count):
        found = sorted(str(p) for p in (out / f"bucket={n}").glob("*.parquet"))
        if not found:
            found = [str(out / f"empty-{n}.parquet")]
            copy_parquet(con, f"select {', '.join(columns)} from ({rows}) limit 0", params,
                         Path(found[0]))
        files.append(found)
    return files


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
            steps.add(count + 1)
        split_files = split(con, files, COLUMNS, count, work / "split")
        if steps is not None:
            steps.tick()
        for n in range(count):
            bucket = {"buckets": count, "bucket": n}
            con.execute(LOAD_BUCKET, {"files": split_files[n]})
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
