-- Purpose: Clients and AUM per tier in one month, branch by branch (DOMAIN.md "Tier
--   distribution" per branch): to compare the tier mix of branches.
-- Grain: one row per branch with at least one client present in the month (by the client's
--   branch that month) and tier, all five tiers in rank order (zero when empty); ordered by
--   branch_id, then tier rank.
-- Parameters:
--   month      month, required   The month, YYYY-MM.
--   branch_id  textlist, optional  Branches, by the client's branch that month (comma-separated on
--                                 the command line); every branch when empty.
-- Columns:
--   branch_id    Branch (the snapshot row's branch that month).
--   branch_name  Its name from the branches table.
--   tier         Tier code: mass, gold, platinum, diamond, private.
--   clients      Clients of the branch present in the month in the tier.
--   aum          Their AUM summed (RMB, the month-end figure even when tiers use aum_avg).
with present as (
    select branch_id, tier, count(*) as clients, sum(aum) as aum
    from snapshots
    where month = $month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
    group by branch_id, tier
),

active_branches as (
    select distinct branch_id
    from present
),

final as (
    select
        ab.branch_id,
        b.branch_name,
        t.tier,
        coalesce(p.clients, 0) as clients,
        coalesce(p.aum, 0) as aum
    from active_branches as ab
    cross join tiers as t
    left join branches as b on b.branch_id = ab.branch_id
    left join present as p on p.branch_id = ab.branch_id and p.tier = t.tier
    order by ab.branch_id, t.tier_rank
)

select * from final
