"""The warning engine: DOMAIN.md's early-warning rules, computed at load time into the lake
table ``computed_warnings`` (one row per warning), so that reading warnings never joins
snapshots to themselves.

Every load recomputes the table whole from every month of the new version (and the
maturities file), so a delivered month that replaces a loaded one, or a rebuild after a
change of the warning settings, leaves no stale warning behind. One DuckDB statement reads
each client's months in order with window functions (a sort of the snapshot rows by client
and month) and writes the warnings with COPY straight to parquet. It runs once per bucket of
clients (tierflow/buckets.py: about 6M snapshot rows a pass, read from the lake once into the
pass's temp table ``bucket_rows``, which dormancy's statements read too when a load runs both:
tierflow/per_client.py) and the table is written from the passes' parts, so memory stays
bounded whatever the lake's size; DuckDB spills to the version's work folder when it runs
short.

The rules, for a snapshot month M (thresholds are settings, section ``warnings``):

- ``large_outflow``: a row in M (a closing row counts: the money left) and a present row in
  M−1, with AUM down by at least ``outflow_min_amount`` and at least ``outflow_min_share`` of
  M−1's AUM. amount = the fall (AUM in M−1 − AUM in M). A single large transfer within a
  month is what the bank's own warnings (the delivered ``warnings`` table) report.
- ``downgrade``: present in M−N … M (N = ``downgrade_months``, consecutive months), with the
  tier of each of M−N+1 … M below the tier in M−N. N = 1: tier lower than last month; a
  larger N is the stricter rule (raised once, in the N-th month below the band). amount = AUM
  in M−N − AUM in M.
- ``activity_drop``: present in M with ``txn_count`` below ``activity_drop_ratio`` × the
  average of the previous ``activity_lookback_months`` months (each with a row and a count),
  when that average is at least ``activity_min_average`` (a quiet client's 2 → 0 is noise,
  not a signal). Raised in the month the drop starts, not again in the next month while the
  average still holds the busy months. amount = AUM in M (what is at stake).
- ``dormancy``: DOMAIN.md's dormant (status ``dormant``, or ``txn_count`` = 0 in M and the
  ``dormancy_months`` − 1 months before), raised in the month the client becomes dormant:
  present and not dormant in M−1. amount = AUM in M.
- ``maturity``: every product in ``maturities`` gets one warning, raised
  ``maturity_window_days`` before its maturity date (the day to call the client); its month
  is the month of that day, and the client needs a snapshot row in it (branch, manager and
  tier come from that row). amount = the maturing amount. Products whose warning day falls
  after the last loaded month are not raised yet.

Severity follows the amount: ``high`` from ``severity_high_amount``, ``medium`` from
``severity_medium_amount``, else ``low``. Month-end rules are raised on the last day of M
(the snapshot date); a maturity warning on its warning day. Warning ids are stable across
loads: ``OUT-202610-<client>``, ``DWN-``, ``ACT-``, ``DRM-``, and for maturities
``MAT-<maturity date>-<client>-<n>`` (n numbers one client's products maturing that day).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tierflow import buckets
from tierflow.lake import LOAD_MEMORY_LIMIT, copy_parquet
from tierflow.settings import TIER_CODES, Settings

TABLE = "computed_warnings"
RULES = ("large_outflow", "downgrade", "activity_drop", "maturity", "dormancy")
SEVERITIES = ("high", "medium", "low")

# Bound parameters only: settings arrive as $values, file lists as lists of paths. The
# warnings of one bucket of clients ($bucket of $buckets, tierflow/buckets.py), unsorted: its
# snapshot rows are the pass's temp table bucket_rows (read from the lake once a pass, for
# the sort by client and month and for the join back), its maturities are read here.
SQL = """
-- Only numbers go through the sort by client and month; the names (branch, manager, tier,
-- month) are joined back for the few rows that raise a warning.
with slim as not materialized (
    select client_id, month_index, aum, tier_rank, present,
           coalesce(status = 'dormant', false) as dormant_status, txn_count
    from bucket_rows
),

-- Each row beside the client's earlier rows. A lag k rows back is k months back only when
-- its month_index says so (a client may be missing from some months): the *_ok columns.
history as (
    select
        client_id, month_index, aum, tier_rank, present, dormant_status, txn_count,
        lag(month_index) over w = month_index - 1
            and coalesce(lag(present) over w, false) as had_prev,
        lag(aum) over w as prev_aum,
        lag(dormant_status) over w as prev_dormant_status,
        lag(txn_count) over w as prev_txn,
        -- downgrade: the tier N months back, and the best tier since
        lag(month_index, $downgrade_months) over w = month_index - $downgrade_months
            as band_ok,
        lag(tier_rank, $downgrade_months) over w as band_rank,
        lag(aum, $downgrade_months) over w as band_aum,
        max(tier_rank) over (w rows between $downgrade_months - 1 preceding and current row)
            as best_rank_since,
        count(tier_rank) over (w rows between $downgrade_months - 1 preceding and current row)
            as present_since,
        -- activity drop in M (average of M-L .. M-1) and in M-1 (of M-L-1 .. M-2)
        lag(month_index, $lookback) over w = month_index - $lookback as lookback_ok,
        lag(month_index, $lookback + 1) over w = month_index - $lookback - 1
            as prev_lookback_ok,
        avg(txn_count) over (w rows between $lookback preceding and 1 preceding)
            as txn_average,
        count(txn_count) over (w rows between $lookback preceding and 1 preceding)
            as txn_months,
        avg(txn_count) over (w rows between $lookback + 1 preceding and 2 preceding)
            as prev_txn_average,
        count(txn_count) over (w rows between $lookback + 1 preceding and 2 preceding)
            as prev_txn_months,
        -- dormancy in M (no transaction in M-D+1 .. M) and in M-1 (in M-D .. M-1)
        lag(month_index, $dormancy_months - 1) over w = month_index - $dormancy_months + 1
            as quiet_ok,
        lag(month_index, $dormancy_months) over w = month_index - $dormancy_months
            as prev_quiet_ok,
        sum(case when txn_count = 0 then 1 else 0 end)
            over (w rows between $dormancy_months - 1 preceding and current row)
            as quiet_months,
        sum(case when txn_count = 0 then 1 else 0 end)
            over (w rows between $dormancy_months preceding and 1 preceding)
            as prev_quiet_months
    from slim
    window w as (partition by client_id order by month_index)
),

flags as (
    select
        *,
        had_prev and prev_aum - aum >= $outflow_min_amount
            and prev_aum - aum >= $outflow_min_share * prev_aum as is_outflow,
        present and coalesce(band_ok and present_since = $downgrade_months
                             and best_rank_since < band_rank, false) as is_downgrade,
        present and coalesce(lookback_ok and txn_months = $lookback
                             and txn_average >= $activity_min_average
                             and txn_count < $activity_drop_ratio * txn_average, false)
            as dropped,
        had_prev and coalesce(prev_lookback_ok and prev_txn_months = $lookback
                              and prev_txn_average >= $activity_min_average
                              and prev_txn < $activity_drop_ratio * prev_txn_average, false)
            as dropped_before,
        present and (dormant_status
                     or coalesce(quiet_ok and quiet_months = $dormancy_months, false))
            as dormant,
        had_prev and (coalesce(prev_dormant_status, false)
                      or coalesce(prev_quiet_ok and prev_quiet_months = $dormancy_months,
                                  false)) as dormant_before
    from history
),

-- The few rows that raise anything, kept once (so the window above runs once).
hits as materialized (
    select *
    from flags
    where is_outflow or is_downgrade or (dropped and not dropped_before)
       or (dormant and had_prev and not dormant_before)
),

month_end as (
    select client_id, month_index, 'large_outflow' as rule, 'OUT' as prefix,
           prev_aum - aum as amount, prev_aum as aum_earlier, cast(null as tinyint) as band_rank,
           cast(null as double) as txn_average
    from hits
    where is_outflow
    union all
    select client_id, month_index, 'downgrade', 'DWN', band_aum - aum, band_aum, band_rank,
           null
    from hits
    where is_downgrade
    union all
    select client_id, month_index, 'activity_drop', 'ACT', aum, null, null, txn_average
    from hits
    where dropped and not dropped_before
    union all
    select client_id, month_index, 'dormancy', 'DRM', aum, null, null, null
    from hits
    where dormant and had_prev and not dormant_before
),

due as (
    select
        client_id, product_type, amount, maturity_date,
        cast(maturity_date - cast($maturity_window_days as integer) as date) as raised_on,
        -- one client's products maturing the same day, numbered for their ids
        row_number() over (partition by client_id, maturity_date
                           order by product_type, amount desc) as n
    from read_parquet($maturities)
    where hash(client_id) % $buckets = $bucket
),

wanted as (
    select client_id, month_index, rule, prefix, amount, aum_earlier, band_rank, txn_average,
           cast(null as date) as raised_on, cast(null as date) as due_on,
           cast(null as varchar) as product_type, cast(null as bigint) as n
    from month_end
    union all
    select client_id, year(raised_on) * 12 + month(raised_on) - 1, 'maturity', 'MAT', amount,
           null, null, null, raised_on, maturity_date, product_type, n
    from due
),

raised as (
    select
        case when w.rule = 'maturity'
             then 'MAT-' || strftime(w.due_on, '%Y%m%d') || '-' || w.client_id || '-' || w.n
             else w.prefix || '-' || replace(s.month, '-', '') || '-' || w.client_id
        end as warning_id,
        w.client_id, s.branch_id, s.manager_id, s.month, w.month_index,
        -- month-end rules are raised on the snapshot date
        coalesce(w.raised_on, last_day(cast(s.month || '-01' as date))) as raised_on,
        w.rule, w.amount, s.tier, $tier_codes[w.band_rank + 1] as tier_before, s.aum,
        w.aum_earlier, s.status, s.txn_count, w.txn_average, w.due_on, w.product_type
    from wanted as w
    join bucket_rows as s
      on s.client_id = w.client_id and s.month_index = w.month_index
)

select
    warning_id, client_id, branch_id, manager_id, month, month_index, raised_on, rule,
    case when amount >= $severity_high_amount then 'high'
         when amount >= $severity_medium_amount then 'medium'
         else 'low' end as severity,
    cast(amount as decimal(18, 2)) as amount, tier, tier_before,
    cast(aum as decimal(18, 2)) as aum, cast(aum_earlier as decimal(18, 2)) as aum_earlier,
    status, cast(txn_count as bigint) as txn_count, txn_average, due_on, product_type
from raised
"""

# The table's order: month first, so a month's warnings are a row group or two.
ORDER = "month_index, branch_id, client_id, rule, warning_id"


def parameters(settings: Settings) -> dict:
    """The settings the rules read, by their names in SQL."""
    return {
        "outflow_min_share": float(settings.outflow_min_share),
        "outflow_min_amount": float(settings.outflow_min_amount),
        "downgrade_months": int(settings.downgrade_months),
        "lookback": int(settings.activity_lookback_months),
        "activity_drop_ratio": float(settings.activity_drop_ratio),
        "activity_min_average": float(settings.activity_min_average),
        "dormancy_months": int(settings.dormancy_months),
        "maturity_window_days": int(settings.maturity_window_days),
        "severity_high_amount": float(settings.severity_high_amount),
        "severity_medium_amount": float(settings.severity_medium_amount),
        "tier_codes": list(TIER_CODES),
    }


class Job:
    """The warnings as a job of the bucket passes (tierflow/buckets.py), written to `out`."""

    def __init__(self, maturities: Path, out: Path, settings: Settings):
        self.params = {"maturities": str(maturities), **parameters(settings)}
        self.out = out

    def start(self, con: duckdb.DuckDBPyConnection, snapshots: list[str]) -> None:
        pass

    def one_pass(self, con: duckdb.DuckDBPyConnection, bucket: dict, work: Path,
                 n: int) -> None:
        copy_parquet(con, SQL, {**self.params, **bucket}, buckets.part(work, TABLE, n))

    def finish(self, con: duckdb.DuckDBPyConnection, work: Path) -> int:
        """How many warnings were raised."""
        return buckets.write_table(con, work, TABLE, ORDER, self.out)


def compute(snapshots: list[Path], maturities: Path, out: Path, settings: Settings,
            work: Path, memory_limit: str = LOAD_MEMORY_LIMIT,
            steps: buckets.Steps | None = None) -> int:
    """Write the warnings of these snapshot files (every month of one version) and
    maturities to `out` (parquet); return how many were raised. `work` takes DuckDB's
    spill files and the passes' parts, and is removed afterwards; `steps` counts a step per
    bucket of clients. (A load computes them with dormancy over the same passes:
    tierflow/per_client.py.)"""
    return buckets.compute(snapshots, work, [Job(maturities, out, settings)], memory_limit,
                           steps)[0]
