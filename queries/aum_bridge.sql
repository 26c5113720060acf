-- Purpose: The AUM bridge from one month to another (DOMAIN.md "AUM migration"), over the
--   clients of the tier transition (present in from_month or in to_month, once each):
--   opening_aum + new_aum + staying_change - exited_aum = closing_aum, per group and in total.
-- Grain: one row per group with at least one such client. group_by tier: the client's tier in
--   from_month, or new (not present in from_month); ordered new, then tier rank. group_by
--   branch: the client's branch in to_month, or in from_month when it exited; ordered by
--   branch. Any other group_by gives no rows. Months 1, 3, 6 or 12 apart read the month pairs
--   stored at load (transition_cube); any other pair joins the two months' rows.
-- Parameters:
--   from_month  month, required   The earlier month, YYYY-MM.
--   to_month    month, required   The later month, YYYY-MM.
--   branch_id   textlist, optional  Branches (comma-separated on the command line), each month by the client's branch in that month,
--                                 as tier_transition does (a client who moved branch exits one and is new in the other; without a
--                                 filter it stays, under its to_month branch).
--   group_by    text, optional   tier (the default) or branch.
-- Columns:
--   group_key       Tier code in from_month or new (group_by tier); branch_id (group_by branch).
--   opening_aum     AUM in from_month of the clients present then, RMB.
--   new_aum         AUM in to_month of the clients not present in from_month, RMB.
--   staying_change  Sum of (AUM in to_month - AUM in from_month) of the clients present in both, RMB.
--   exited_aum      AUM in from_month of the clients not present in to_month, RMB.
--   closing_aum     AUM in to_month of the clients present then, RMB.
with stored_pair as (
    -- to_month 1, 3, 6 or 12 months after from_month: the pair stored at load
    -- (transition_cube, cubes.TRANSITION_GAPS), month_index = year * 12 + month - 1; the
    -- condition depends on the parameters alone, so the path not taken reads nothing. A side outside the branches counts as not present.
    select
        case when from_rank is not null
                  and ($branch_id is null or list_contains($branch_id, from_branch_id))
             then from_rank end as from_rank,
        case when to_rank is not null
                  and ($branch_id is null or list_contains($branch_id, to_branch_id))
             then to_rank end as to_rank,
        from_branch_id,
        to_branch_id,
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
    select client_id, tier_rank, branch_id, aum
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
    select client_id, tier_rank, branch_id, aum
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

pairs as (
    -- rank empty: not present (or outside the branches) in that month
    select from_rank, to_rank, from_branch_id, to_branch_id, aum_from, aum_to
    from stored_pair
    where from_rank is not null or to_rank is not null
    union all
    select a.tier_rank, b.tier_rank, a.branch_id, b.branch_id, a.aum, b.aum
    from month_a as a
    full outer join month_b as b on a.client_id = b.client_id
),

moves as (
    select
        case when coalesce($group_by, 'tier') = 'tier' then coalesce(t.tier, 'new')
             -- to_month's branch, or from_month's for a client that exited
             when p.to_rank is not null then p.to_branch_id
             else p.from_branch_id
        end as group_key,
        -- new sorts before every tier; branches sort by group_key alone
        case when coalesce($group_by, 'tier') = 'tier' then coalesce(p.from_rank, -1)
             else 0
        end as group_rank,
        case when p.from_rank is null then 0 else p.aum_from end as opening_aum,
        case when p.from_rank is null then p.aum_to else 0 end as new_aum,
        case when p.from_rank is not null and p.to_rank is not null then p.aum_to - p.aum_from
             else 0
        end as staying_change,
        case when p.to_rank is null then p.aum_from else 0 end as exited_aum,
        case when p.to_rank is null then 0 else p.aum_to end as closing_aum
    from pairs as p
    left join tiers as t on t.tier_rank = p.from_rank
    where coalesce($group_by, 'tier') in ('tier', 'branch')
),

final as (
    select
        group_key,
        sum(opening_aum) as opening_aum,
        sum(new_aum) as new_aum,
        sum(staying_change) as staying_change,
        sum(exited_aum) as exited_aum,
        sum(closing_aum) as closing_aum
    from moves
    group by group_key, group_rank
    order by group_rank, group_key
)

select * from final
