-- Purpose: Churn per month (DOMAIN.md "Churn", "Churned"): clients at risk in the month before
--   and how many of them churned, by the churn definition. vip_to_mass (the default): at risk
--   = present at VIP tier in M-1, churned = in M mass or not present; closure: at risk =
--   present in M-1, churned = not present in M (closed or missing); aum_floor: at risk =
--   present in M-1 with AUM at or above the floor, churned = in M AUM under the floor or not
--   present. The floor is the setting churn_aum_floor the lake was built with.
-- Grain: one row per month in the data whose previous calendar month is also in the data (the
--   first month, and a month after a gap, have no churn figure); zero counts included.
-- Parameters:
--   branch_id  textlist, optional  Branches, by the client's branch in M-1 (where it was at risk);
--              every branch when empty.
--   vip_rank   int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   churn_definition  text, setting churn_definition   vip_to_mass, closure or aum_floor (any
--                     other value puts nobody at risk).
-- Columns:
--   month       The month M, YYYY-MM.
--   at_risk     Clients at risk in M-1.
--   churned     Of them, churned in M.
--   churn_rate  churned / at_risk; empty when at_risk is 0.

-- tier_cube (tierflow/cubes.py) counts the snapshot rows by month, branch, tier and the tier
-- rank the month after (empty when not present then), with those at or above the churn floor
-- and those of them under it or gone the month after
with months as (
    select distinct month, month_index
    from tier_cube
),

-- At risk in M-1, keyed by M
outcomes as (
    select
        month_index + 1 as month_index,
        cast(coalesce(sum(case $churn_definition
                     when 'vip_to_mass' then case when tier_rank >= $vip_rank then clients
                                                  else 0 end
                     when 'closure' then clients
                     when 'aum_floor' then floor_at_risk
                 end), 0) as bigint) as at_risk,
        cast(coalesce(sum(case $churn_definition
                     when 'vip_to_mass' then case when tier_rank >= $vip_rank
                                                   and coalesce(next_tier_rank, 0) = 0
                                                  then clients else 0 end
                     when 'closure' then case when next_tier_rank is null then clients
                                              else 0 end
                     when 'aum_floor' then floor_churned
                 end), 0) as bigint) as churned
    from tier_cube
    where present
      and ($branch_id is null or list_contains($branch_id, branch_id))
    group by month_index + 1
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
