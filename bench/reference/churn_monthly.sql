-- Purpose: Churn per month (DOMAIN.md "Churn", "Churned"): clients at risk in the month before
--   and how many of them churned, by the churn definition. vip_to_mass (the default): at risk
--   = present at VIP tier in M-1, churned = in M mass or not present; closure: at risk =
--   present in M-1, churned = not present in M (closed or missing); aum_floor: at risk =
--   present in M-1 with AUM at or above the floor, churned = in M AUM under the floor or not
--   present.
-- Grain: one row per month in the data whose previous calendar month is also in the data (the
--   first month, and a month after a gap, have no churn figure); zero counts included.
-- Parameters:
--   branch_id  textlist, optional  Branches, by the client's branch in M-1 (where it was at risk);
--              every branch when empty.
--   vip_rank   int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   churn_definition  text, setting churn_definition   vip_to_mass, closure or aum_floor (any
--                     other value puts nobody at risk).
--   churn_aum_floor   number, setting churn_aum_floor   AUM floor (RMB) for aum_floor.
-- Columns:
--   month       The month M, YYYY-MM.
--   at_risk     Clients at risk in M-1.
--   churned     Of them, churned in M.
--   churn_rate  churned / at_risk; empty when at_risk is 0.
with months as (
    select distinct month, month_index
    from snapshots
),

-- At risk in M-1, keyed by M, with what became of the client in M: next_tier_rank and
-- next_aum are its tier and AUM in M, empty when it is not present then (built at load).
at_risk as (
    select month_index + 1 as month_index, next_tier_rank, next_aum
    from snapshots
    where present
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and case $churn_definition
              when 'vip_to_mass' then tier_rank >= $vip_rank
              when 'closure' then true
              when 'aum_floor' then aum >= cast($churn_aum_floor as decimal(18, 2))
              else false
          end
),

outcomes as (
    select
        month_index,
        count(*) as at_risk,
        cast(sum(case
            when $churn_definition = 'vip_to_mass' and coalesce(next_tier_rank, 0) = 0 then 1
            when $churn_definition = 'closure' and next_tier_rank is null then 1
            when $churn_definition = 'aum_floor'
                and (next_aum is null or next_aum < cast($churn_aum_floor as decimal(18, 2)))
                then 1
            else 0
        end) as bigint) as churned
    from at_risk
    group by month_index
),

final as (
    select
        m.month,
        coalesce(o.at_risk, 0) as at_risk,
        coalesce(o.churned, 0) as churned,
        case when coalesce(o.at_risk, 0) = 0 then null
             else cast(o.churned as double) / o.at_risk end as churn_rate
    from months as m
    -- only months whose previous month is in the data have a churn figure
    join months as prev on prev.month_index = m.month_index - 1
    left join outcomes as o on o.month_index = m.month_index
    order by m.month
)

select * from final
