-- Purpose: Dormant clients and reactivations per month, branch by branch and for all branches
--   together (DOMAIN.md "Dormant client reactivation", "Dormant in month M", "Reactivated in
--   M"). Dormant in M: present in M and either status dormant, or txn_count = 0 in M and in
--   each of the dormancy_months - 1 months before it (a month without a row for the client,
--   or with no txn_count, is not a month without transactions). Reactivated in M: dormant in
--   M-1, present in M with txn_count > 0. Both are worked out when data is loaded, with the
--   dormancy_months setting in force (the dormant_months table, tierflow/dormancy.py).
-- Grain: one row per month in the data and branch with present clients that month, then one
--   row per month for all branches together (branch_id empty); in month order, the all-branch
--   row first, then by branch_id.
-- Parameters:
--   branch_id        textlist, optional  Branches, by the client's branch in the month (for
--                    dormant_before and reactivated: its branch in M-1, where it was dormant);
--                    every branch when empty.
-- Columns:
--   month              The month M, YYYY-MM.
--   branch_id          Branch; empty on the row for all branches.
--   branch_name        Its name.
--   present_clients    Clients present in M.
--   dormant            Of them, dormant in M.
--   dormant_share      dormant / present_clients.
--   dormant_aum        AUM of the dormant clients in M, RMB.
--   dormant_before     Clients dormant in M-1 (in the branch then); 0 when M-1 is not in the data.
--   reactivated        Of them, reactivated in M.
--   reactivation_rate  reactivated / dormant_before; empty when dormant_before is 0.
with months as (
    select distinct month, month_index
    from snapshots
),

present_counts as (
    select month_index, branch_id, count(*) as present_clients
    from snapshots
    where present
      and ($branch_id is null or list_contains($branch_id, branch_id))
    group by month_index, branch_id
),

-- dormant months (worked out at load); reactivated_next: reactivated in M+1
dormant_counts as (
    select
        month_index, branch_id, count(*) as dormant, sum(aum) as dormant_aum,
        cast(sum(case when reactivated_next then 1 else 0 end) as bigint) as reactivated_next
    from dormant_months
    where $branch_id is null or list_contains($branch_id, branch_id)
    group by month_index, branch_id
),

by_branch as (
    select
        m.month,
        m.month_index,
        p.branch_id,
        p.present_clients,
        coalesce(d.dormant, 0) as dormant,
        coalesce(d.dormant_aum, 0) as dormant_aum,
        -- the month before counts only when it is in the data
        case when before.month_index is null then 0 else coalesce(b.dormant, 0) end
            as dormant_before,
        case when before.month_index is null then 0 else coalesce(b.reactivated_next, 0) end
            as reactivated
    from months as m
    join present_counts as p on p.month_index = m.month_index
    left join months as before on before.month_index = m.month_index - 1
    left join dormant_counts as d
        on d.month_index = m.month_index and d.branch_id = p.branch_id
    left join dormant_counts as b
        on b.month_index = m.month_index - 1 and b.branch_id = p.branch_id
),

-- A branch with dormant clients in M-1 and nobody present in M still owes its reactivations
-- to M: add those (branch, month) pairs with no present clients.
emptied as (
    select m.month, m.month_index, b.branch_id, 0 as present_clients, 0 as dormant,
           0 as dormant_aum, b.dormant as dormant_before, b.reactivated_next as reactivated
    from dormant_counts as b
    join months as m on m.month_index = b.month_index + 1
    left join present_counts as p
        on p.month_index = m.month_index and p.branch_id = b.branch_id
    where p.branch_id is null
),

branch_rows as (
    select * from by_branch
    union all
    select * from emptied
),

all_branches as (
    select
        m.month,
        m.month_index,
        cast(null as varchar) as branch_id,
        cast(coalesce(sum(r.present_clients), 0) as bigint) as present_clients,
        cast(coalesce(sum(r.dormant), 0) as bigint) as dormant,
        coalesce(sum(r.dormant_aum), 0) as dormant_aum,
        cast(coalesce(sum(r.dormant_before), 0) as bigint) as dormant_before,
        cast(coalesce(sum(r.reactivated), 0) as bigint) as reactivated
    from months as m
    left join branch_rows as r on r.month_index = m.month_index
    group by m.month, m.month_index
),

combined as (
    select month, month_index, 0 as level, branch_id, present_clients, dormant, dormant_aum,
           dormant_before, reactivated
    from all_branches
    union all
    select month, month_index, 1 as level, branch_id, present_clients, dormant, dormant_aum,
           dormant_before, reactivated
    from branch_rows
),

final as (
    select
        c.month,
        c.branch_id,
        br.branch_name,
        cast(c.present_clients as bigint) as present_clients,
        cast(c.dormant as bigint) as dormant,
        case when c.present_clients = 0 then null
             else cast(c.dormant as double) / c.present_clients end as dormant_share,
        cast(c.dormant_aum as decimal(18, 2)) as dormant_aum,
        cast(c.dormant_before as bigint) as dormant_before,
        cast(c.reactivated as bigint) as reactivated,
        case when c.dormant_before = 0 then null
             else cast(c.reactivated as double) / c.dormant_before end as reactivation_rate
    from combined as c
    left join branches as br on br.branch_id = c.branch_id
    order by c.month_index, c.level, c.branch_id
)

select * from final
