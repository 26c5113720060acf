-- Purpose: How clients and AUM moved between tiers from one month to another, with clients
--   that are new (not present in the first month) and exited (not present in the second)
--   (DOMAIN.md "Tier transition").
-- Grain: one row per (from_tier, to_tier) pair that has at least one client. Months 1, 3, 6 or
--   12 apart read the month pairs stored at load (transition_cube); any other pair joins the
--   two months' rows.
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
with stored_pair as (
    -- to_month 1, 3, 6 or 12 months after from_month: the pair stored at load
    -- (transition_cube, cubes.TRANSITION_GAPS), month_index = year * 12 + month - 1; the
    -- condition depends on the parameters alone, so the path not taken reads nothing
    select
        case when from_rank is not null
                  and ($branch_id is null or list_contains($branch_id, from_branch_id))
             then from_rank end as from_rank,
        case when to_rank is not null
                  and ($branch_id is null or list_contains($branch_id, to_branch_id))
             then to_rank end as to_rank,
        clients,
        aum_from,
        aum_to
    from transition_cube
    where month_index = cast(substr($to_month, 1, 4) as integer) * 12
                        + cast(substr($to_month, 6, 2) as integer) - 1
      and from_index = cast(substr($from_month, 1, 4) as integer) * 12
                       + cast(substr($from_month, 6, 2) as integer) - 1
      and list_contains($cube_transition_gaps,
                        cast(substr($to_month, 1, 4) as integer) * 12
                        + cast(substr($to_month, 6, 2) as integer)
                        - cast(substr($from_month, 1, 4) as integer) * 12
                        - cast(substr($from_month, 6, 2) as integer))
),

month_a as (
    select client_id, tier_rank, aum
    from snapshots
    where month = $from_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
      -- any other pair of months
      and not list_contains($cube_transition_gaps,
                            cast(substr($to_month, 1, 4) as integer) * 12
                            + cast(substr($to_month, 6, 2) as integer)
                            - cast(substr($from_month, 1, 4) as integer) * 12
                            - cast(substr($from_month, 6, 2) as integer))
),

month_b as (
    select client_id, tier_rank, aum
    from snapshots
    where month = $to_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and not list_contains($cube_transition_gaps,
                            cast(substr($to_month, 1, 4) as integer) * 12
                            + cast(substr($to_month, 6, 2) as integer)
                            - cast(substr($from_month, 1, 4) as integer) * 12
                            - cast(substr($from_month, 6, 2) as integer))
),

moves as (
    -- rank empty: not present (or outside the branches) in that month
    select
        from_rank,
        to_rank,
        clients,
        case when from_rank is null then 0 else aum_from end as aum_from,
        case when to_rank is null then 0 else aum_to end as aum_to
    from stored_pair
    where from_rank is not null or to_rank is not null
    union all
    select
        a.tier_rank as from_rank,
        b.tier_rank as to_rank,
        1 as clients,
        coalesce(a.aum, 0) as aum_from,
        coalesce(b.aum, 0) as aum_to
    from month_a as a
    full outer join month_b as b on a.client_id = b.client_id
),

final as (
    select
        coalesce(f.tier, 'new') as from_tier,
        coalesce(t.tier, 'exited') as to_tier,
        -- bigint: an integer sum is int128 in DuckDB and bigint on Spark
        cast(sum(m.clients) as bigint) as clients,
        sum(m.aum_from) as aum_from,
        sum(m.aum_to) as aum_to
    from moves as m
    left join tiers as f on f.tier_rank = m.from_rank
    left join tiers as t on t.tier_rank = m.to_rank
    -- new sorts before every tier, exited after every tier
    group by f.tier, t.tier, coalesce(m.from_rank, -1), coalesce(m.to_rank, 99)
    order by coalesce(m.from_rank, -1), coalesce(m.to_rank, 99)
)

select * from final
