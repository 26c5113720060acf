-- Purpose: The AUM bridge from one month to another (DOMAIN.md "AUM migration"), over the
--   clients of the tier transition (present in from_month or in to_month, once each):
--   opening_aum + new_aum + staying_change - exited_aum = closing_aum, per group and in total.
-- Grain: one row per group with at least one such client. group_by tier: the client's tier in
--   from_month, or new (not present in from_month); ordered new, then tier rank. group_by
--   branch: the client's branch in to_month, or in from_month when it exited; ordered by
--   branch. Any other group_by gives no rows.
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
with month_a as (
    select client_id, tier, tier_rank, branch_id, aum
    from snapshots
    where month = $from_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

month_b as (
    select client_id, branch_id, aum
    from snapshots
    where month = $to_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

moves as (
    select
        case when coalesce($group_by, 'tier') = 'tier' then coalesce(a.tier, 'new')
             -- to_month's branch, or from_month's for a client that exited
             when b.client_id is not null then b.branch_id
             else a.branch_id
        end as group_key,
        -- new sorts before every tier; branches sort by group_key alone
        case when coalesce($group_by, 'tier') = 'tier' then coalesce(a.tier_rank, -1)
             else 0
        end as group_rank,
        coalesce(a.aum, 0) as opening_aum,
        case when a.client_id is null then b.aum else 0 end as new_aum,
        case when a.client_id is not null and b.client_id is not null then b.aum - a.aum
             else 0
        end as staying_change,
        case when b.client_id is null then a.aum else 0 end as exited_aum,
        coalesce(b.aum, 0) as closing_aum
    from month_a as a
    full outer join month_b as b on a.client_id = b.client_id
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
