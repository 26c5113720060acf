"""Aggregates built at load time, so the dashboard's headline figures read thousands of rows
instead of every snapshot row: at 5 million clients × 36 months (180M rows) a scan of the
snapshots takes seconds on two cores, a cube of a few hundred thousand rows milliseconds.

Each cube is one SQL text over the logical tables (``snapshots``, ``tier_entries``). A load
runs it over every month of the new version and writes the result as a lake table, whole,
like the warning engine (tierflow/warning_rules.py): a replaced month or a rebuild leaves
nothing stale. The same text is what the query runner uses where a stored cube cannot be cut
to a user's scope (a manager's own clients: the cubes have no client): there it runs over the
narrowed tables, so the figures follow one definition either way.

- ``tier_cube``: one row per month, branch (the client's that month), present flag, tier and
  the tier ranks the month before and after (empty: not present then), with clients, AUM
  (also the month before and after), product, activity and churn-floor counts. Monthly totals,
  the tier mix, the branch league, churn by month and the lifecycle read it.
- ``cohort_cube``: one row per cohort (branch in the cohort month, VIP rank, cohort month) and
  month k after it in which a member is present, with the members retained at k under each
  churn definition and their AUM. The retention triangle reads it.
- ``case_aum``: one row per closed retention case (retained or lost) with the client's AUM in
  the month before it was opened and 1 and 3 months after it was closed (0 when not present
  then). The AUM-after-retention figures read it. It keeps its client, so a manager's scope
  cuts it like any table of clients' rows.

``churn_aum_floor`` is baked into both (settings.lake_fingerprint: a change asks for a
rebuild); the runner binds the same value as ``$cube_churn_aum_floor`` when it derives them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tierflow import history
from tierflow.lake import copy_parquet, load_connection
from tierflow.settings import Settings

TIER_CUBE = """
select
    month,
    month_index,
    branch_id,
    present,
    tier,
    tier_rank,
    prev_tier_rank,
    next_tier_rank,
    count(*) as clients,
    sum(aum) as aum,
    sum(prev_aum) as prev_aum,
    sum(next_aum) as next_aum,
    count(products_held) as with_products,
    cast(coalesce(sum(products_held), 0) as bigint) as products,
    cast(sum(case when products_held >= 3 then 1 else 0 end) as bigint) as cross_sold,
    cast(sum(case when coalesce(txn_count, 0) > 0 then 1 else 0 end) as bigint) as active,
    cast(coalesce(sum(txn_count), 0) as bigint) as txns,
    cast(sum(case when aum >= cast($cube_churn_aum_floor as decimal(18, 2)) then 1 else 0 end)
         as bigint) as floor_at_risk,
    cast(sum(case when aum >= cast($cube_churn_aum_floor as decimal(18, 2))
                   and (next_aum is null
                        or next_aum < cast($cube_churn_aum_floor as decimal(18, 2)))
                  then 1 else 0 end) as bigint) as floor_churned
from snapshots
group by month, month_index, branch_id, present, tier, tier_rank, prev_tier_rank,
         next_tier_rank
"""

COHORT_CUBE = """
select
    m.branch_id,
    m.min_rank,
    m.month_index as cohort_index,
    s.month_index - m.month_index as months_since,
    cast(sum(case when s.tier_rank >= m.min_rank then 1 else 0 end) as bigint) as vip_retained,
    sum(case when s.tier_rank >= m.min_rank then s.aum end) as vip_retained_aum,
    count(*) as present_retained,
    sum(s.aum) as present_retained_aum,
    cast(sum(case when s.aum >= cast($cube_churn_aum_floor as decimal(18, 2)) then 1 else 0 end)
         as bigint) as floor_retained,
    sum(case when s.aum >= cast($cube_churn_aum_floor as decimal(18, 2)) then s.aum end)
        as floor_retained_aum
from tier_entries as m
join snapshots as s
  on s.client_id = m.client_id and s.month_index >= m.month_index and s.present
group by m.branch_id, m.min_rank, m.month_index, s.month_index - m.month_index
"""

CASE_AUM = """
with closed as (
    select
        case_id, client_id, branch_id, outcome, opened_on, closed_on,
        -- month_index of a date: year * 12 + month - 1, as in the snapshots
        year(opened_on) * 12 + month(opened_on) - 1 as opened_index,
        year(closed_on) * 12 + month(closed_on) - 1 as closed_index
    from retention_cases
    where outcome in ('retained', 'lost')
),

-- the three months each case looks at; reading only those rows keeps the joins small
case_months as (
    select client_id, opened_index - 1 as month_index from closed
    union all
    select client_id, closed_index + 1 from closed
    union all
    select client_id, closed_index + 3 from closed
),

present_aum as (
    select s.client_id, s.month_index, s.aum
    from snapshots as s
    join (select distinct client_id, month_index from case_months) as m
        on m.client_id = s.client_id and m.month_index = s.month_index
    where s.present
)

select
    c.case_id, c.client_id, c.branch_id, c.outcome, c.opened_on, c.closed_on,
    coalesce(b.aum, 0) as aum_before,
    coalesce(a1.aum, 0) as aum_after_1m,
    coalesce(a3.aum, 0) as aum_after_3m
from closed as c
left join present_aum as b
    on b.client_id = c.client_id and b.month_index = c.opened_index - 1
left join present_aum as a1
    on a1.client_id = c.client_id and a1.month_index = c.closed_index + 1
left join present_aum as a3
    on a3.client_id = c.client_id and a3.month_index = c.closed_index + 3
"""

# name → (SQL, the logical tables it reads)
CUBES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tier_cube": (TIER_CUBE, ("snapshots",)),
    "cohort_cube": (COHORT_CUBE, ("snapshots", "tier_entries")),
    "case_aum": (CASE_AUM, ("snapshots", "retention_cases")),
}
# the tables that keep their client: a manager's scope narrows them by client, no derivation
BY_CLIENT = ("case_aum",)


def params(settings: Settings) -> dict:
    """The bound values the cubes' SQL takes."""
    return {"cube_churn_aum_floor": float(settings.churn_aum_floor)}


def write(writer, settings: Settings, memory_limit: str = "1GB") -> dict[str, int]:
    """Compute every cube of the version being written (its months: this load's files, else
    the base version's) into its folder; return their row counts."""
    files = history.MonthFiles(writer.dir, writer.base_dir)
    months = [str(files.path(m)) for m in files.months()] \
        or [str(writer.dir / "snapshots" / "empty.parquet")]
    work = writer.dir / "work-cubes"
    con = load_connection(work, memory_limit)
    con.execute("set preserve_insertion_order = false")
    entries = writer.dir / "tier_entries.parquet"
    if not entries.exists() and writer.base_dir is not None:
        entries = writer.base_dir / "tier_entries.parquet"
    sources = {"snapshots": months, "tier_entries": [str(entries)],
               "retention_cases": [str(writer.dir / "retention_cases.parquet")]}
    counts = {}
    try:
        for name, (sql, reads) in CUBES.items():
            lead = ",\n".join(f"{table} as (select * from read_parquet(${table}))"
                              for table in reads)
            out = writer.dir / f"{name}.parquet"
            ordered = f"with {lead}\nselect * from ({sql}) order by all"
            bound = {k: v for k, v in params(settings).items() if f"${k}" in sql}
            copy_parquet(con, ordered, {**bound, **{t: sources[t] for t in reads}}, out,
                         row_group_size=65_536)
            counts[name] = con.execute("select count(*) from read_parquet($out)",
                                       {"out": str(out)}).fetchone()[0]
        return counts
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
