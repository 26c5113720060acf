-- Purpose: Retention success by channel, reason, measure, handler role, case type or closing
--   month (DOMAIN.md "Retention success"): over cases closed as retained or lost in the period
--   (by closed_on; pending cases left out), the share retained, by count and by AUM.
-- Grain: one row per value of the dimension with at least one closed case in the period; most
--   closed cases first.
-- Parameters:
--   dimension  text, required  channel, reason, measure, handler_role, case_type or closed_month
--              (closed_on as YYYY-MM); any other value puts every case under unknown.
--   from_date  date, optional    First closed_on day counted (inclusive); open-ended when empty.
--   to_date    date, optional    Last closed_on day counted (inclusive); open-ended when empty.
--   branch_id  textlist, optional  Branches of the case; every branch when empty.
-- Columns:
--   dimension_value  The case's channel, reason, measure, handler role, case type (codes) or
--                    closing month (YYYY-MM); unknown when empty.
--   closed_cases     Cases closed as retained or lost.
--   retained         Of them, retained.
--   lost             Of them, lost.
--   success_rate     retained / (retained + lost).
--   aum_at_stake     AUM at stake summed (a missing amount counts as 0), RMB.
--   aum_kept         AUM kept summed (a missing amount counts as 0), RMB.
--   aum_success_rate aum_kept / aum_at_stake; empty when aum_at_stake is 0.
with closed as (
    select
        -- the dimension switch on the bound parameter (no dynamic SQL)
        coalesce(
            case $dimension
                when 'channel' then channel
                when 'reason' then reason
                when 'measure' then measure
                when 'handler_role' then handler_role
                when 'case_type' then case_type
                when 'closed_month' then strftime(closed_on, '%Y-%m')
            end,
            'unknown') as dimension_value,
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
        dimension_value,
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
    group by dimension_value
    order by closed_cases desc, dimension_value
)

select * from final
