-- Purpose: VIP cohort retention at 3, 6 and 12 months by branch, tier or segment (DOMAIN.md
--   "Churn": churn cohorts). Cohorts as in cohort_retention: a client's cohort month is the
--   first month in the data in which its tier is VIP; a member is eligible at k if cohort
--   month + k is a month in the data, and retained at k if, in that month, it is present at
--   VIP tier (vip_to_mass, the default), present at all (closure), or present with AUM at or
--   above the churn floor (aum_floor). The floor is the setting churn_aum_floor the lake was
--   built with. Counted from cohort_group_cube (members per cohort and group, retained 3, 6
--   and 12 months on under each churn definition, built at load; tierflow/cubes.py).
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
with months as (
    -- every month with a snapshot row: the cube has rows for each, present or not
    select distinct month_index
    from tier_cube
),

-- cohort_group_cube (tierflow/cubes.py): per cohort (branch in the cohort month, VIP rank,
-- cohort month), tier in the cohort month and segment, the members, and of them those
-- retained 3, 6 and 12 months on under each churn definition
cohorts as (
    select
        -- the dimension switch on the bound parameter (no dynamic SQL)
        case coalesce($dimension, 'branch')
            when 'branch' then g.branch_id
            when 'tier' then t.tier
            when 'segment' then coalesce(g.segment, 'unknown')
        end as group_key,
        case when coalesce($dimension, 'branch') = 'tier' then g.tier_rank else 0 end
            as group_order,
        g.cohort_index,
        g.members,
        case $churn_definition
            when 'vip_to_mass' then g.vip_retained_3
            when 'closure' then g.present_retained_3
            when 'aum_floor' then g.floor_retained_3
            else 0
        end as retained_3,
        case $churn_definition
            when 'vip_to_mass' then g.vip_retained_6
            when 'closure' then g.present_retained_6
            when 'aum_floor' then g.floor_retained_6
            else 0
        end as retained_6,
        case $churn_definition
            when 'vip_to_mass' then g.vip_retained_12
            when 'closure' then g.present_retained_12
            when 'aum_floor' then g.floor_retained_12
            else 0
        end as retained_12
    from cohort_group_cube as g
    join tiers as t on t.tier_rank = g.tier_rank
    where g.min_rank = $vip_rank
      and ($branch_id is null or list_contains($branch_id, g.branch_id))
),

-- a member is eligible at k when its cohort month + k is a month in the data
counted as (
    select
        c.group_key,
        c.group_order,
        cast(sum(c.members) as bigint) as cohort_clients,
        cast(sum(case when m3.month_index is null then 0 else c.members end) as bigint)
            as eligible_3,
        cast(sum(case when m3.month_index is null then 0 else c.retained_3 end) as bigint)
            as retained_3,
        cast(sum(case when m6.month_index is null then 0 else c.members end) as bigint)
            as eligible_6,
        cast(sum(case when m6.month_index is null then 0 else c.retained_6 end) as bigint)
            as retained_6,
        cast(sum(case when m12.month_index is null then 0 else c.members end) as bigint)
            as eligible_12,
        cast(sum(case when m12.month_index is null then 0 else c.retained_12 end) as bigint)
            as retained_12
    from cohorts as c
    left join months as m3 on m3.month_index = c.cohort_index + 3
    left join months as m6 on m6.month_index = c.cohort_index + 6
    left join months as m12 on m12.month_index = c.cohort_index + 12
    group by c.group_key, c.group_order
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
