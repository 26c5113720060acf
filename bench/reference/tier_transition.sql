-- Purpose: How clients and AUM moved between tiers from one month to another, with clients
--   that are new (not present in the first month) and exited (not present in the second)
--   (DOMAIN.md "Tier transition").
-- Grain: one row per (from_tier, to_tier) pair that has at least one client.
-- Parameters:
--   from_month  month, required   The earlier month, YYYY-MM.
--   to_month    month, required   The later month, YYYY-MM.
--   branch_id   textlist, optional  Branches (comma-separated on the command line), each month by the client's branch in that month
--                                 (a client who moved branch exits one and is new in the other).
-- Columns:
--   from_tier   Tier in from_month, or new.
--   to_tier     Tier in to_month, or exited.
--   clients     Clients making this move.
--   aum_from    Their AUM in from_month (0 for new), RMB.
--   aum_to      Their AUM in to_month (0 for exited), RMB.
with month_a as (
    select client_id, tier, tier_rank, aum
    from snapshots
    where month = $from_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

month_b as (
    select client_id, tier, tier_rank, aum
    from snapshots
    where month = $to_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

moves as (
    select
        coalesce(a.tier, 'new') as from_tier,
        coalesce(b.tier, 'exited') as to_tier,
        -- new sorts before every tier, exited after every tier
        coalesce(a.tier_rank, -1) as from_rank,
        coalesce(b.tier_rank, 99) as to_rank,
        coalesce(a.aum, 0) as aum_from,
        coalesce(b.aum, 0) as aum_to
    from month_a as a
    full outer join month_b as b on a.client_id = b.client_id
),

final as (
    select
        from_tier,
        to_tier,
        count(*) as clients,
        sum(aum_from) as aum_from,
        sum(aum_to) as aum_to
    from moves
    group by from_tier, to_tier, from_rank, to_rank
    order by from_rank, to_rank
)

select * from final
