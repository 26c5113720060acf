-- Purpose: Clients and AUM per tier in one month (DOMAIN.md "Tier distribution").
-- Grain: one row per tier, all five tiers in rank order (zero when a tier is empty).
-- Parameters:
--   month      month, required   The month, YYYY-MM.
--   branch_id  textlist, optional  Branches, by the client's branch that month (comma-separated on
--                                 the command line); every branch when empty.
-- Columns:
--   tier       Tier code: mass, gold, platinum, diamond, private.
--   clients    Clients present in the month (a row not closed) in the tier.
--   aum        Their AUM summed (RMB, the month-end figure even when tiers use aum_avg).
with present as (
    select tier, aum
    from snapshots
    where month = $month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

final as (
    select
        t.tier,
        count(p.tier) as clients,
        coalesce(sum(p.aum), 0) as aum
    from tiers as t
    left join present as p on p.tier = t.tier
    group by t.tier, t.tier_rank
    order by t.tier_rank
)

select * from final
