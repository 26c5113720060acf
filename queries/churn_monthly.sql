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

at_risk as (
    select client_id, month_index
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

-- Rows that are not churned in their month: the complement of each definition's churn test.
staying as (
    select client_id, month_index
    from snapshots
    where present
      and case $churn_definition
              when 'vip_to_mass' then tier_rank > 0  -- not mass
              when 'closure' then true
              when 'aum_floor' then aum >= cast($churn_aum_floor as decimal(18, 2))
              else false
          end
),

outcomes as (
    select
        m.month,
        r.client_id,
        case when r.client_id is not null and s.client_id is null then 1 else 0 end as churned
    from months as m
    join months as prev on prev.month_index = m.month_index - 1
    left join at_risk as r on r.month_index = m.month_index - 1
    left join staying as s on s.client_id = r.client_id and s.month_index = m.month_index
),

final as (
    select
        month,
        count(client_id) as at_risk,
        cast(sum(churned) as bigint) as churned,
        case when count(client_id) = 0 then null
             else cast(sum(churned) as double) / count(client_id) end as churn_rate
    from outcomes
    group by month
    order by month
)

select * from final
