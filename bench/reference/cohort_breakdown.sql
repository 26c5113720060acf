-- Purpose: VIP cohort retention at 3, 6 and 12 months by branch, tier or segment (DOMAIN.md
--   "Churn": churn cohorts). Cohorts as in cohort_retention: a client's cohort month is the
--   first month in the data in which its tier is VIP; a member is eligible at k if cohort
--   month + k is a month in the data, and retained at k if, in that month, it is present at
--   VIP tier (vip_to_mass, the default), present at all (closure), or present with AUM at or
--   above the churn floor (aum_floor).
-- Grain: one row per group with at least one cohort member (none when nobody was ever VIP);
--   tiers in rank order, branches and segments by group_key.
-- Parameters:
--   dimension  text, optional  How members are grouped: branch (the default; the client's branch
--              in its cohort month), tier (its tier in its cohort month) or segment
--              (clients.segment).
--   branch_id  textlist, optional  Cohort members of these branches (the client's branch in its
--              cohort month); every branch when empty.
--   vip_rank   int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   churn_definition  text, setting churn_definition   What "retained" means: vip_to_mass,
--                     closure or aum_floor (any other value retains nobody).
--   churn_aum_floor   number, setting churn_aum_floor   AUM floor (RMB) for aum_floor.
-- Columns:
--   group_key       Branch id, tier code, or segment (unknown when empty).
--   cohort_clients  Cohort members in the group (all cohorts together).
--   eligible_3      Members whose cohort month + 3 is a month in the data.
--   retained_3      Of them, retained 3 months after their cohort month.
--   rate_3          retained_3 / eligible_3; empty when eligible_3 is 0.
--   eligible_6      As eligible_3, 6 months on.
--   retained_6      As retained_3, 6 months on.
--   rate_6          retained_6 / eligible_6; empty when eligible_6 is 0.
--   eligible_12     As eligible_3, 12 months on.
--   retained_12     As retained_3, 12 months on.
--   rate_12         retained_12 / eligible_12; empty when eligible_12 is 0.
with kept_months as (
    -- the month rows in which a client counts as retained, per churn definition
    select client_id, month_index
    from snapshots
    where present
      and case $churn_definition
              when 'vip_to_mass' then tier_rank >= $vip_rank
              when 'closure' then true
              when 'aum_floor' then aum >= cast($churn_aum_floor as decimal(18, 2))
              else false
          end
),

months as (
    select distinct month_index
    from snapshots
),

-- tier_entries holds each client's first month at the VIP rank or above (built at load)
members as (
    select
        e.client_id,
        e.month_index as cohort_index,
        -- the dimension switch on the bound parameter (no dynamic SQL)
        case coalesce($dimension, 'branch')
            when 'branch' then e.branch_id
            when 'tier' then t.tier
            when 'segment' then coalesce(c.segment, 'unknown')
        end as group_key,
        case when coalesce($dimension, 'branch') = 'tier' then e.tier_rank else 0 end
            as group_order
    from tier_entries as e
    join tiers as t on t.tier_rank = e.tier_rank
    left join clients as c on c.client_id = e.client_id
    where e.min_rank = $vip_rank
      and ($branch_id is null or list_contains($branch_id, e.branch_id))
),

groups as (
    select group_key, group_order, count(*) as cohort_clients
    from members
    group by group_key, group_order
),

horizons as (
    select 3 as k
    union all select 6
    union all select 12
),

-- One row per member and horizon k at which it is eligible (cohort month + k in the data).
cells as (
    select
        m.group_key,
        h.k,
        case when kept.client_id is null then 0 else 1 end as is_retained
    from members as m
    cross join horizons as h
    join months as later on later.month_index = m.cohort_index + h.k
    left join kept_months as kept
        on kept.client_id = m.client_id and kept.month_index = m.cohort_index + h.k
),

cell_counts as (
    select
        group_key,
        cast(sum(case when k = 3 then 1 else 0 end) as bigint) as eligible_3,
        cast(sum(case when k = 3 then is_retained else 0 end) as bigint) as retained_3,
        cast(sum(case when k = 6 then 1 else 0 end) as bigint) as eligible_6,
        cast(sum(case when k = 6 then is_retained else 0 end) as bigint) as retained_6,
        cast(sum(case when k = 12 then 1 else 0 end) as bigint) as eligible_12,
        cast(sum(case when k = 12 then is_retained else 0 end) as bigint) as retained_12
    from cells
    group by group_key
),

counted as (
    select
        g.group_key,
        g.group_order,
        g.cohort_clients,
        coalesce(n.eligible_3, 0) as eligible_3,
        coalesce(n.retained_3, 0) as retained_3,
        coalesce(n.eligible_6, 0) as eligible_6,
        coalesce(n.retained_6, 0) as retained_6,
        coalesce(n.eligible_12, 0) as eligible_12,
        coalesce(n.retained_12, 0) as retained_12
    from groups as g
    -- null-safe: an unknown dimension value gives one group with an empty key
    left join cell_counts as n on n.group_key is not distinct from g.group_key
),

final as (
    select
        group_key,
        cohort_clients,
        eligible_3,
        retained_3,
        case when eligible_3 = 0 then null
             else cast(retained_3 as double) / eligible_3 end as rate_3,
        eligible_6,
        retained_6,
        case when eligible_6 = 0 then null
             else cast(retained_6 as double) / eligible_6 end as rate_6,
        eligible_12,
        retained_12,
        case when eligible_12 = 0 then null
             else cast(retained_12 as double) / eligible_12 end as rate_12
    from counted
    order by group_order, group_key
)

select * from final
