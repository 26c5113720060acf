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
--   page_rows     int, optional     Only the first page_rows rows (the page shows a slice of a
--                 list that may hold tens of thousands); every row when empty.
-- Looked up: name, phone, open_date, segment
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
--   list_rows    Clients on the list, all of them (the same on every row).
--   list_aum     Their AUM summed, RMB (the same on every row).
with rows_this_month as materialized (
    select client_id, branch_id, tier, aum
    from snapshots
    where month = $month
      and present
      and manager_id is null
      and aum >= cast($assign_floor as decimal(18, 2))
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows,
        sum(aum) as list_aum
    from rows_this_month
),

page as (
    select p.*, t.*, row_number() over (order by aum desc, client_id) as row_no
    from (
        select *
        from rows_this_month
        order by aum desc, client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        r.client_id,
        r.branch_id,
        b.branch_name,
        r.tier,
        r.aum,
        r.list_rows,
        r.list_aum
    from page as r
    left join branches as b on b.branch_id = r.branch_id
    order by r.row_no
)

select * from final
