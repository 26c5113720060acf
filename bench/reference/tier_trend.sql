-- Purpose: Clients and AUM per tier in every month of the data (DOMAIN.md "Tier distribution",
--   month by month): the tier mix over time.
-- Grain: one row per month in the data (any branch) and tier, all five tiers in rank order,
--   zero when a tier (or, under a branch filter, the whole month) is empty; ordered by month,
--   then tier rank.
-- Parameters:
--   branch_id  textlist, optional  Branches, each month by the client's branch in that month
--                                 (comma-separated on the command line); every branch when empty.
-- Columns:
--   month      Month, YYYY-MM.
--   tier       Tier code: mass, gold, platinum, diamond, private.
--   clients    Clients present in the month (a row not closed) in the tier.
--   aum        Their AUM summed (RMB, the month-end figure even when tiers use aum_avg).
with months as (
    -- every month in the data, so a branch with no clients in a month still gets its zeros
    select distinct month, month_index
    from snapshots
),

present as (
    select month, tier, count(*) as clients, sum(aum) as aum
    from snapshots
    where present
      and ($branch_id is null or list_contains($branch_id, branch_id))
    group by month, tier
),

final as (
    select
        m.month,
        t.tier,
        coalesce(p.clients, 0) as clients,
        coalesce(p.aum, 0) as aum
    from months as m
    cross join tiers as t
    left join present as p on p.month = m.month and p.tier = t.tier
    order by m.month_index, t.tier_rank
)

select * from final
