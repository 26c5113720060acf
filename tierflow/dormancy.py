"""Dormancy at load time: which client-months are dormant, and every reactivation with the
figures its depth and its survival are judged on, computed into two lake tables so that the
dormancy queries read a few hundred thousand rows instead of sorting every snapshot row by
client and month (which takes seconds at 200,000 clients; once per load it is affordable).

Every load recomputes both tables whole from every month of the new version, like the warning
engine (tierflow/warning_rules.py), so a replaced month or a rebuild after a change of
``dormancy_months`` leaves nothing stale; the setting is part of the lake's warning
fingerprint, so a change asks for ``python -m tierflow rebuild``. Like the warnings, the work
runs once per bucket of clients (tierflow/buckets.py) and the tables are written from the
passes' parts, so memory stays bounded whatever the lake's size; every statement reads the
pass's temp table ``bucket_rows`` (the bucket's snapshot rows, read from the lake once a pass,
over the same passes as the warnings in a load: tierflow/per_client.py).

The definitions (DOMAIN.md "Definitions the numbers follow", "Dormant client reactivation"),
N = ``dormancy_months``:

- **Dormant in M**: present in M and status ``dormant``, or ``txn_count`` = 0 in M and in each
  of the N−1 months before it (the client has a row in each of those months: a month without
  a row, or without ``txn_count``, breaks the count).
- **Reactivated in R**: dormant in R−1, present in R with ``txn_count`` > 0.
- **Quiet spell** of a reactivation: the unbroken run of months up to R−1 in which the client
  was present without a positive ``txn_count`` (or flagged dormant); it starts in S.
- **Before / after**: the client's present rows in S−3 … S−1 and in R … R+2, each measure
  (``txn_count``, ``turnover``, ``products_held``, ``fee_income``) averaged over them.
- **Run end**: the first month from R on in which the client is dormant, closed, or missing
  (while that month is within the data): how long the reactivation lasted.

Tables (one row group of 64k rows after another, in month order):

- ``dormant_months``: one row per client and month in which it is dormant: client_id, month,
  month_index, branch_id, manager_id, tier, aum, status, last_txn_date (the row's),
  quiet_months (months in a row without a transaction up to M, 0 when M has transactions),
  reactivated_next (reactivated in M+1).
- ``reactivations``: one row per reactivation: client_id, month (R), month_index, branch_id
  (the client's in R−1, where it was dormant), aum (in R), quiet_start (S, a month index)
  and quiet_since (S as YYYY-MM),
  months_before, months_after, txn_before, txn_after, turnover_before, turnover_after,
  products_before, products_after, fee_before, fee_after (averages, empty without rows),
  run_end (a month index; empty while the run lasts to the end of the data).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tierflow import buckets
from tierflow.lake import LOAD_MEMORY_LIMIT, copy_parquet
from tierflow.settings import Settings

TABLES = ("dormant_months", "reactivations")

# Each statement below covers one bucket of clients (tierflow/buckets.py): it reads the
# snapshots from the pass's temp table bucket_rows (the bucket's rows, read from the lake once
# a pass), and the rows come unsorted (the tables' order, ORDER, is applied when the parts are
# written as one table). Bound parameters only.
ORDER = "month_index, branch_id, client_id"

# One sort of the slim rows for the row-by-row rules (windows over the client's months), one
# for the running values (spell start, what the months before it looked like, where an active
# run ends); the names and amounts are joined back for the few rows that are kept.
MARKED = """
create or replace temp table marked as
with slim as (
    select
        client_id, month_index, present, txn_count,
        coalesce(status = 'dormant', false) as flagged,
        present and coalesce(txn_count = 0, false) as zero,
        -- part of a quiet spell: present without a positive txn_count, or flagged dormant
        present and (coalesce(txn_count, 0) <= 0 or coalesce(status = 'dormant', false))
            as quiet
    from bucket_rows
),

rows_by_client as (
    select
        *,
        -- the first row of the client, or one after a month without a row
        coalesce(lag(month_index) over w <> month_index - 1, true) as after_gap,
        lead(month_index) over w as next_index,
        lag(zero) over w as prev_zero,
        lag(quiet) over w as prev_quiet,
        lag(present) over w as prev_present,
        lag(flagged) over w as prev_flagged,
        -- dormancy by transactions in M (M-N+1 .. M) and in M-1 (M-N .. M-1)
        lag(month_index, $dormancy_months - 1) over w = month_index - $dormancy_months + 1
            as span_ok,
        sum(case when zero then 1 else 0 end)
            over (w rows between $dormancy_months - 1 preceding and current row) as span_zero,
        lag(month_index, $dormancy_months) over w = month_index - $dormancy_months
            as prev_span_ok,
        sum(case when zero then 1 else 0 end)
            over (w rows between $dormancy_months preceding and 1 preceding) as prev_span_zero
    from slim
    window w as (partition by client_id order by month_index)
),

flags as (
    select
        *,
        present and (flagged or coalesce(span_ok and span_zero = $dormancy_months, false))
            as dormant,
        not after_gap and coalesce(prev_present, false)
            and (coalesce(prev_flagged, false)
                 or coalesce(prev_span_ok and prev_span_zero = $dormancy_months, false))
            as dormant_before,
        zero and (after_gap or not coalesce(prev_zero, false)) as zero_run_starts,
        quiet and (after_gap or not coalesce(prev_quiet, false)) as spell_starts
    from rows_by_client
),

events as (
    select
        *,
        dormant_before and present and coalesce(txn_count > 0, false) as reactivated,
        -- where an active run stops: dormant or closed this month, or missing next month
        case when not present or dormant then month_index
             when next_index is null or next_index > month_index + 1 then month_index + 1
        end as stop
    from flags
),

-- Only the rows the running values below need: months without a positive txn_count (spells
-- and quiet runs start there), dormant months, reactivations and the months that end an
-- active run. Their order among themselves is all the windows below look at.
kept as (
    select *
    from events
    where quiet or dormant or reactivated or stop is not null
)

select *
from (
select
    client_id, month_index, dormant, reactivated,
    case when zero
         then month_index - max(case when zero_run_starts then month_index end)
                  over (w rows between unbounded preceding and current row) + 1
         else 0 end as quiet_months,
    lead(reactivated) over w as reactivated_next,
    -- the first month of the spell a reactivation ends
    max(case when spell_starts then month_index end)
        over (w rows between unbounded preceding and current row) as quiet_start,
    min(case when stop <= $last_index then stop end)
        over (w rows between current row and unbounded following) as run_end
from kept
window w as (partition by client_id order by month_index)
) as marked_rows
-- only the dormant months and the reactivations are kept
where dormant or reactivated
"""

DORMANT_MONTHS = """
select
    m.client_id, s.month, m.month_index, s.branch_id, s.manager_id, s.tier, s.aum, s.status,
    s.last_txn_date, cast(m.quiet_months as integer) as quiet_months,
    coalesce(m.reactivated_next, false) as reactivated_next
from marked as m
join bucket_rows as s
  on s.client_id = m.client_id and s.month_index = m.month_index
where m.dormant
"""

REACTIVATIONS = """
with reactivated as (
    select client_id, month_index, quiet_start, run_end
    from marked
    where reactivated
),

-- the client's present rows in the three months before the spell and the first three from R
sides as (
    select
        r.client_id, r.month_index,
        s.month_index < r.quiet_start as before,
        -- integers and decimals, not doubles: their averages (exact sums) do not depend on
        -- the order rows arrive in, which the threads and the client buckets change
        s.txn_count as txn, s.turnover as turnover, s.products_held as products,
        s.fee_income as fee
    from reactivated as r
    join bucket_rows as s on s.client_id = r.client_id
    where s.present
      and (s.month_index between r.quiet_start - 3 and r.quiet_start - 1
           or s.month_index between r.month_index and r.month_index + 2)
),

averages as (
    select
        client_id, month_index,
        count(case when before then 1 end) as months_before,
        count(case when not before then 1 end) as months_after,
        avg(case when before then txn end) as txn_before,
        avg(case when not before then txn end) as txn_after,
        avg(case when before then turnover end) as turnover_before,
        avg(case when not before then turnover end) as turnover_after,
        avg(case when before then products end) as products_before,
        avg(case when not before then products end) as products_after,
        avg(case when before then fee end) as fee_before,
        avg(case when not before then fee end) as fee_after
    from sides
    group by client_id, month_index
)

select
    r.client_id, s.month, r.month_index, d.branch_id, s.aum,
    cast(r.quiet_start as integer) as quiet_start,
    printf('%04d-%02d', r.quiet_start // 12, r.quiet_start % 12 + 1) as quiet_since,
    cast(coalesce(a.months_before, 0) as integer) as months_before,
    cast(coalesce(a.months_after, 0) as integer) as months_after,
    a.txn_before, a.txn_after, a.turnover_before, a.turnover_after,
    a.products_before, a.products_after, a.fee_before, a.fee_after,
    cast(r.run_end as integer) as run_end
from reactivated as r
join bucket_rows as s
  on s.client_id = r.client_id and s.month_index = r.month_index
join bucket_rows as d
  on d.client_id = r.client_id and d.month_index = r.month_index - 1
left join averages as a on a.client_id = r.client_id and a.month_index = r.month_index
"""


class Job:
    """Dormancy as a job of the bucket passes (tierflow/buckets.py): both tables, written
    into `out_dir`."""

    def __init__(self, out_dir: Path, settings: Settings):
        self.out_dir = out_dir
        self.dormancy_months = int(settings.dormancy_months)
        self.last_index = -1

    def start(self, con: duckdb.DuckDBPyConnection, snapshots: list[str]) -> None:
        # the last month of the data (a run ending after it has no end yet)
        last = con.execute("select max(month_index) from read_parquet($snapshots)",
                           {"snapshots": snapshots}).fetchone()[0]
        self.last_index = -1 if last is None else int(last)

    def one_pass(self, con: duckdb.DuckDBPyConnection, bucket: dict, work: Path,
                 n: int) -> None:
        con.execute(MARKED, {"dormancy_months": self.dormancy_months,
                             "last_index": self.last_index})
        for table, sql in (("dormant_months", DORMANT_MONTHS),
                           ("reactivations", REACTIVATIONS)):
            copy_parquet(con, sql, {}, buckets.part(work, table, n))

    def finish(self, con: duckdb.DuckDBPyConnection, work: Path) -> dict[str, int]:
        """Both tables' row counts."""
        con.execute("drop table if exists marked")
        return {table: buckets.write_table(con, work, table, ORDER,
                                           self.out_dir / f"{table}.parquet")
                for table in TABLES}


def compute(snapshots: list[Path], out_dir: Path, settings: Settings, work: Path,
            memory_limit: str = LOAD_MEMORY_LIMIT,
            steps: buckets.Steps | None = None) -> dict[str, int]:
    """Write both tables for these snapshot files (every month of one version) into
    `out_dir`; return their row counts. `work` takes DuckDB's spill files and the passes'
    parts, and is removed afterwards; `steps` counts a step per bucket of clients. (A load
    computes them with the warnings over the same passes: tierflow/per_client.py.)"""
    return buckets.compute(snapshots, work, [Job(out_dir, settings)], memory_limit, steps)[0]
