-- Purpose: Upgrades and downgrades between two months by branch or by manager (DOMAIN.md "AUM
--   migration"): over the clients present in both months, an upgrade is a higher tier rank in
--   to_month than in from_month, a downgrade a lower one (new and exited clients are neither).
-- Grain: one row per group with at least one client present in both months, ordered by
--   net_upgrades (largest first), then group_key (empty last), then branch_id. group_by branch:
--   the client's branch in to_month. group_by manager: the client's manager in to_month
--   together with the client's branch in to_month, so a manager whose clients sit in two
--   branches that month has two rows; clients with no manager in to_month make the rows with
--   an empty group_key. Any other group_by gives no rows. Months 1, 3, 6 or 12 apart
--   read the month pairs stored at load (transition_cube); any other pair joins the two
--   months' rows.
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
with stored_pair as (
    -- to_month 1, 3, 6 or 12 months after from_month: the pair stored at load
    -- (transition_cube, cubes.TRANSITION_GAPS), month_index = year * 12 + month - 1; the
    -- condition depends on the parameters alone, so the path not taken reads nothing
    select to_branch_id as branch_id, to_manager_id as manager_id, from_rank, to_rank, clients
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
      and from_rank is not null
      and to_rank is not null
      and ($branch_id is null or list_contains($branch_id, to_branch_id))
),

month_a as (
    select client_id, tier_rank
    from snapshots
    where month = $from_month
      and present
      -- any other pair of months
      and not list_contains($cube_transition_gaps,
                            cast(substr($to_month, 1, 4) as integer) * 12
                            + cast(substr($to_month, 6, 2) as integer)
                            - cast(substr($from_month, 1, 4) as integer) * 12
                            - cast(substr($from_month, 6, 2) as integer))
),

month_b as (
    select client_id, tier_rank, branch_id, manager_id
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

both_months as (
    -- the clients present in both months, with their branch and manager in to_month
    select branch_id, manager_id, from_rank, to_rank, clients
    from stored_pair
    union all
    select b.branch_id, b.manager_id, a.tier_rank, b.tier_rank, 1
    from month_a as a
    join month_b as b on a.client_id = b.client_id
),

staying as (
    select
        case when coalesce($group_by, 'branch') = 'branch' then branch_id
             else manager_id
        end as group_key,
        branch_id,
        clients,
        case when to_rank > from_rank then clients else 0 end as upgrades,
        case when to_rank < from_rank then clients else 0 end as downgrades
    from both_months
    where coalesce($group_by, 'branch') in ('branch', 'manager')
),

counts as (
    select
        group_key,
        branch_id,
        -- bigint: an integer sum is int128 in DuckDB and bigint on Spark
        cast(sum(clients) as bigint) as staying,
        cast(sum(upgrades) as bigint) as upgrades,
        cast(sum(downgrades) as bigint) as downgrades
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
