-- Purpose: Retention success per branch (DOMAIN.md "Retention success"): over cases closed as
--   retained or lost in the period (by closed_on; pending cases left out), the share retained,
--   by count and by AUM.
-- Grain: one row per branch of the case with at least one closed case in the period.
-- Parameters:
--   from_date  date, optional    First closed_on day counted (inclusive); open-ended when empty.
--   to_date    date, optional    Last closed_on day counted (inclusive); open-ended when empty.
--   branch_id  textlist, optional  Branches (comma-separated on the command line); every branch when empty.
-- Columns:
--   branch_id        Branch that handled the cases.
--   closed_cases     Cases closed as retained or lost.
--   retained         Of them, retained.
--   lost             Of them, lost.
--   success_rate     retained / (retained + lost).
--   aum_at_stake     AUM at stake summed (a missing amount counts as 0), RMB.
--   aum_kept         AUM kept summed (a missing amount counts as 0), RMB.
--   aum_success_rate aum_kept / aum_at_stake; empty when aum_at_stake is 0.
with closed as (
    select
        branch_id,
        outcome,
        coalesce(aum_at_stake, 0) as aum_at_stake,
        coalesce(aum_kept, 0) as aum_kept
    from retention_cases
    where outcome in ('retained', 'lost')
      and ($from_date is null or closed_on >= $from_date)
      and ($to_date is null or closed_on <= $to_date)
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

final as (
    select
        branch_id,
        count(*) as closed_cases,
        -- bigint: an integer sum is int128 in DuckDB and bigint on Spark
        cast(sum(case when outcome = 'retained' then 1 else 0 end) as bigint) as retained,
        cast(sum(case when outcome = 'lost' then 1 else 0 end) as bigint) as lost,
        cast(sum(case when outcome = 'retained' then 1 else 0 end) as double)
            / count(*) as success_rate,
        sum(aum_at_stake) as aum_at_stake,
        sum(aum_kept) as aum_kept,
        case when sum(aum_at_stake) = 0 then null
             else cast(sum(aum_kept) as double) / cast(sum(aum_at_stake) as double)
        end as aum_success_rate
    from closed
    group by branch_id
    order by branch_id
)

select * from final
