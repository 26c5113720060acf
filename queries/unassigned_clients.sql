-- Purpose: Clients who must have a manager and have none in one month (DOMAIN.md "Entities":
--   every client with financial assets of manager_assign_floor RMB or more, gold and above by
--   default, is assigned to exactly one manager): present in the month with month-end AUM at
--   or above the floor and no manager on that month's row.
-- Grain: one row per such client, by AUM descending, then client_id.
-- Parameters:
--   month         month, required   The month, YYYY-MM.
--   branch_id     textlist, optional  Branches (of the client's row that month); every branch
--                 when empty.
--   assign_floor  number, setting manager_assign_floor   AUM (RMB) from which a client needs
--                 a manager.
-- Columns:
--   client_id    Client.
--   name         Name (personal data).
--   phone        Phone (personal data).
--   branch_id    Branch that month.
--   branch_name  Its name.
--   tier         Tier that month.
--   aum          AUM that month, RMB.
--   open_date    Account opened.
--   segment      Client segment.
with rows_this_month as (
    select client_id, branch_id, tier, aum
    from snapshots
    where month = $month
      and present
      and manager_id is null
      and aum >= cast($assign_floor as decimal(18, 2))
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

final as (
    select
        r.client_id,
        c.name,
        c.phone,
        r.branch_id,
        b.branch_name,
        r.tier,
        r.aum,
        c.open_date,
        c.segment
    from rows_this_month as r
    left join clients as c on c.client_id = r.client_id
    left join branches as b on b.branch_id = r.branch_id
    order by r.aum desc, r.client_id
)

select * from final
