-- Purpose: The headline figures of every month: present clients, AUM, VIP clients, and tier
--   upgrades and downgrades against the month before (DOMAIN.md "AUM migration").
-- Grain: one row per month in the data, in month order (zero when the filter matches nobody).
-- Parameters:
--   branch_id  textlist, optional  Branches, by the client's branch in the month; every branch
--                                 when empty.
--   vip_rank   int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
-- Columns:
--   month         YYYY-MM.
--   clients       Clients present in the month.
--   total_aum     Their AUM summed, RMB.
--   vip_clients   Present clients at VIP tier (gold and above by default).
--   upgrades      Clients present in this and the previous month whose tier rose.
--   downgrades    Clients present in this and the previous month whose tier fell.
--   net_upgrades  upgrades - downgrades.
with months as (
    select distinct month, month_index
    from snapshots
),

-- prev_tier_rank is the tier the month before (empty when not present then): a move needs
-- both months, and belongs to the branch the client is in this month
in_filter as (
    select month_index, aum, tier_rank, prev_tier_rank
    from snapshots
    where present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

totals as (
    select
        month_index,
        count(*) as clients,
        sum(aum) as total_aum,
        cast(sum(case when tier_rank >= $vip_rank then 1 else 0 end) as bigint) as vip_clients,
        cast(sum(case when tier_rank > prev_tier_rank then 1 else 0 end) as bigint) as upgrades,
        cast(sum(case when tier_rank < prev_tier_rank then 1 else 0 end) as bigint) as downgrades
    from in_filter
    group by month_index
),

final as (
    select
        m.month,
        coalesce(t.clients, 0) as clients,
        coalesce(t.total_aum, 0) as total_aum,
        coalesce(t.vip_clients, 0) as vip_clients,
        coalesce(t.upgrades, 0) as upgrades,
        coalesce(t.downgrades, 0) as downgrades,
        coalesce(t.upgrades, 0) - coalesce(t.downgrades, 0) as net_upgrades
    from months as m
    left join totals as t on t.month_index = m.month_index
    order by m.month
)

select * from final
