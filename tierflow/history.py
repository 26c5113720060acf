"""History columns derived at load time, so that month-over-month questions need no self-join.

Three things, all rebuilt by every load so they stay right after a month is replaced:

- **Neighbour columns** on every snapshot row: the client's tier rank and AUM in the month
  before (`prev_tier_rank`, `prev_aum`) and the month after (`next_tier_rank`, `next_aum`),
  empty when the client is not present there (closed, absent, or the month is not in the
  data). Written months get them as they are written; the lake months beside a written
  month M (M−1, M+1) are refreshed.
- **`tier_entries`**: per client and tier rank k (0 = any tier), the first month the client was
  present at rank k or higher, with its branch, tier rank and AUM then: the cohort of the retention
  triangle for any VIP threshold. Rebuilt from all months (a replaced early month can move
  any client's entry).

- **`client_months`**: every snapshot row with the columns of a client's detail, sorted by
  client and month in row groups of 128k rows, so one client's history reads a row group or
  two instead of every row of every month (at 5M clients × 36 months: 70 ms).
  Rebuilt from all months.

All are DuckDB statements over the month files (parquet in, parquet out with COPY), run on
a connection with a memory limit that spills to the version's work folder, so memory stays
bounded whatever the size of a month or the number of months.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl

from tierflow.buckets import bucket_count, split
from tierflow.lake import SNAPSHOTS, copy_parquet, duck_type, quoted, write_parquet
from tierflow.settings import TIER_CODES

MONEY = pl.Decimal(18, 2)
NEIGHBOUR_COLUMNS = {"prev_tier_rank": pl.Int8, "prev_aum": MONEY,
                     "next_tier_rank": pl.Int8, "next_aum": MONEY}
TIER_ENTRY_SCHEMA = {"client_id": pl.String, "min_rank": pl.Int8, "month_index": pl.Int32,
                     "month": pl.String, "branch_id": pl.String, "tier_rank": pl.Int8,
                     "aum": MONEY}


def month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class MonthFiles:
    """The snapshot files of the version being written: this load's, else the base's."""

    def __init__(self, new_dir: Path, base_dir: Path | None):
        self.new = new_dir / SNAPSHOTS
        self.base = base_dir / SNAPSHOTS if base_dir is not None else None

    def months(self) -> list[str]:
        found = {p.stem for p in self.new.glob("*.parquet")}
        if self.base is not None:
            found |= {p.stem for p in self.base.glob("*.parquet")}
        return sorted(found - {"empty"})

    def path(self, month: str) -> Path:
        mine = self.new / f"{month}.parquet"
        return mine if mine.exists() or self.base is None else self.base / f"{month}.parquet"


def _present_rows(name: str) -> str:
    """What a month gives its neighbours: its present clients' tier rank and AUM."""
    return f"(select client_id, tier_rank, aum from read_parquet(${name}) where present)"


def attach_neighbours(con: duckdb.DuckDBPyConnection, rows: str, params: dict,
                      before: Path | None, after: Path | None, out: Path,
                      schema: pl.Schema) -> None:
    """Write the rows of one month (the query `rows` with its `params`) to `out` with its
    neighbour columns set from the month files before and after (None: that month is not in
    the data), sorted by branch and client, with the columns and types of `schema`. A
    neighbour row only counts where this month's row is present too."""
    near = {"prev": before, "next": after}
    columns = []
    for name, dtype in schema.items():
        side, _, what = name.partition("_")
        if name in NEIGHBOUR_COLUMNS:
            value = (f"case when r.present then {side}.{what} end"
                     if near[side] is not None else "null")
        else:
            value = f"r.{quoted(name)}"
        columns.append(f"cast({value} as {duck_type(dtype)}) as {quoted(name)}")
    joins = "".join(f" left join {_present_rows(side)} {side} on {side}.client_id = r.client_id"
                    for side, path in near.items() if path is not None)
    query = (f"select {', '.join(columns)} from ({rows}) r{joins} "
             "order by r.branch_id nulls first, r.client_id nulls first")
    copy_parquet(con, query, {**params, **{side: str(path) for side, path in near.items()
                                           if path is not None}}, out)


def month_file(path: Path) -> tuple[str, dict]:
    """The rows of a month file, as a query and its parameters for `attach_neighbours`."""
    return "select * from read_parquet($rows)", {"rows": str(path)}


def neighbour_files(files: MonthFiles, month: str,
                    fresh: dict[str, Path] | None = None) -> tuple[Path | None, Path | None]:
    """The files of the months before and after `month`: a month derived by this load
    (`fresh`), else the version's file, else None (not in the data)."""
    fresh = fresh or {}
    months = set(files.months())
    index = month_index(month)
    found = []
    for near in (month_of(index - 1), month_of(index + 1)):
        found.append(fresh.get(near) or (files.path(near) if near in months else None))
    return found[0], found[1]


def relink(con: duckdb.DuckDBPyConnection, files: MonthFiles, months: list[str],
           out_path, schema: pl.Schema, tick=lambda: None) -> None:
    """Refresh the neighbour columns of months already in the lake (beside a written one)."""
    for month in sorted(months):
        tick()
        before, after = neighbour_files(files, month)
        attach_neighbours(con, *month_file(files.path(month)), before, after, out_path(month),
                          schema)


TIER_ENTRIES_SQL = """
with present_rows as (
    select * from read_parquet($bucket_files, hive_partitioning = false)
),
-- each client's first month at each tier rank it had
firsts as (
    select client_id, tier_rank, min(month_index) as month_index
    from present_rows group by client_id, tier_rank
),
-- rank k (0 = any tier) was first reached in the earliest first month of the ranks >= k
entries as (
    select f.client_id, r.min_rank, min(f.month_index) as month_index
    from firsts f join (select unnest(range($ranks)) as min_rank) r on f.tier_rank >= r.min_rank
    group by f.client_id, r.min_rank
)
select e.client_id, cast(e.min_rank as tinyint) as min_rank,
       cast(e.month_index as integer) as month_index, p.month, p.branch_id,
       cast(p.tier_rank as tinyint) as tier_rank, cast(p.aum as decimal(18, 2)) as aum
from entries e join present_rows p on p.client_id = e.client_id
                                   and p.month_index = e.month_index
"""


# The columns of the present snapshot rows tier entries read (split into buckets of clients).
TIER_ENTRY_COLUMNS = ("client_id", "month_index", "month", "branch_id", "tier_rank", "aum")

# Snapshot rows a bucket of tier entries reads: its statement keeps 6 columns of them (the
# warning pass 15), and all 40M rows of 1M clients × 36 months went through in one statement
# within 400 MB (0.5 GB resident); 190M rows (5M clients) ran out of 2 GB.
TIER_ENTRY_ROWS_PER_BUCKET = 24_000_000


def write_tier_entries(con: duckdb.DuckDBPyConnection, files: MonthFiles, out: Path,
                       rows_per_bucket: int = TIER_ENTRY_ROWS_PER_BUCKET) -> None:
    """First month at each tier rank or above, per client, from every month: one bucket of
    clients at a time (a client's months are all in its bucket; `rows_per_bucket` snapshot
    rows a bucket, split into a file a bucket first), as the warning and dormancy passes do."""
    months = [str(files.path(m)) for m in files.months()]
    if not months:
        write_parquet(pl.DataFrame(schema=TIER_ENTRY_SCHEMA), out)
        return
    work = out.parent / "work-tier-entries"
    work.mkdir(exist_ok=True)
    count = bucket_count(con, months, rows_per_bucket)
    split_files = split(con, months, TIER_ENTRY_COLUMNS, count, work / "split",
                        present_only=True)
    parts = [str(work / f"{bucket:04d}.parquet") for bucket in range(count)]
    for files_of_bucket, part in zip(split_files, parts):
        copy_parquet(con, TIER_ENTRIES_SQL, {"bucket_files": files_of_bucket,
                                             "ranks": len(TIER_CODES)}, Path(part))
    copy_parquet(con, "select * from read_parquet($parts) order by min_rank, client_id",
                 {"parts": parts}, out)
    shutil.rmtree(work)


# The snapshot columns of a client's detail (the client_history query), in client order.
CLIENT_MONTH_COLUMNS = ("client_id", "month", "branch_id", "manager_id", "tier", "aum",
                        "aum_avg", "products_held", "txn_count", "status")
# Rows a row group of client_months: a client's months are in one row group (or two), decoded
# whole for a lookup. Small groups decode little but are many to check: at 5M clients × 36
# months, 16k-row groups (12,143 of them) took 441 ms a lookup, 128k-row groups 70 ms.
CLIENT_MONTH_ROW_GROUP = 131_072


def write_client_months(con: duckdb.DuckDBPyConnection, files: MonthFiles, out: Path,
                        empty: Path) -> None:
    """Every snapshot row of every month (the files of `files`, else the `empty` snapshots
    file) with CLIENT_MONTH_COLUMNS, sorted by client and month: the sort spills to the
    connection's work folder beyond its memory limit (at 1M clients × 36 months, 40M rows, 90 s
    within 2 GB)."""
    months = [str(files.path(m)) for m in files.months()] or [str(empty)]
    copy_parquet(con, f"select {', '.join(CLIENT_MONTH_COLUMNS)} from read_parquet($months) "
                 "order by client_id, month", {"months": months}, out,
                 row_group_size=CLIENT_MONTH_ROW_GROUP)
