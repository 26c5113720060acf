-- Purpose: Upgrades and downgrades between two months by branch or by manager (DOMAIN.md "AUM
--   migration"): over the clients present in both months, an upgrade is a higher tier rank in
--   to_month than in from_month, a downgrade a lower one (new and exited clients are neither).
-- Grain: one row per group with at least one client present in both months, ordered by
--   net_upgrades (largest first), then group_key (empty last), then branch_id. group_by branch:
--   the client's branch in to_month. group_by manager: the client's manager in to_month
--   together with the client's branch in to_month, so a manager whose clients sit in two
--   branches that month has two rows; clients with no manager in to_month make the rows with
--   an empty group_key. Any other group_by gives no rows.
-- Parameters:
--   from_month  month, required   The earlier month, YYYY-MM.
--   to_month    month, required   The later month, YYYY-MM.
--   branch_id   textlist, optional  Branches, by the client's branch in to_month (the group's branch; comma-separated on the
--                                 command line), so a filtered row equals the unfiltered row of that branch; every branch
--                                 when empty.
--   group_by    text, optional   branch (the default) or manager.
-- Columns:
--   group_key       branch_id (group_by branch) or manager_id, empty for no manager (group_by manager), in to_month.
--   branch_id       The group's branch: the clients' branch in to_month.
--   staying         Clients present in both months.
--   upgrades        Of them, with a higher tier in to_month.
--   downgrades      Of them, with a lower tier in to_month.
--   net_upgrades    upgrades - downgrades.
--   upgrade_rate    upgrades / staying.
--   downgrade_rate  downgrades / staying.
with month_a as (
    select client_id, tier_rank
    from snapshots
    where month = $from_month
      and present
),

month_b as (
    select client_id, tier_rank, branch_id, manager_id
    from snapshots
    where month = $to_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

staying as (
    select
        case when coalesce($group_by, 'branch') = 'branch' then b.branch_id
             else b.manager_id
        end as group_key,
        b.branch_id,
        case when b.tier_rank > a.tier_rank then 1 else 0 end as upgrade,
        case when b.tier_rank < a.tier_rank then 1 else 0 end as downgrade
    from month_a as a
    join month_b as b on a.client_id = b.client_id
    where coalesce($group_by, 'branch') in ('branch', 'manager')
),

counts as (
    select
        group_key,
        branch_id,
        count(*) as staying,
        -- bigint: an integer sum is int128 in DuckDB and bigint on Spark
        cast(sum(upgrade) as bigint) as upgrades,
        cast(sum(downgrade) as bigint) as downgrades
    from staying
    group by group_key, branch_id
),

final as (
    select
        group_key,
        branch_id,
        staying,
        upgrades,
        downgrades,
        upgrades - downgrades as net_upgrades,
        case when staying = 0 then null else cast(upgrades as double) / staying end
            as upgrade_rate,
        case when staying = 0 then null else cast(downgrades as double) / staying end
            as downgrade_rate
    from counts
    order by net_upgrades desc, group_key nulls last, branch_id
)

select * from final
