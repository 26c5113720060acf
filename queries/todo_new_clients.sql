-- Purpose: Clients who opened their account in a window of days (DOMAIN.md "Event-driven
--   service": new account, same week; the to-do list of new clients this week). The page
--   passes the window (this week: Monday to Sunday of its reference date). Branch and manager
--   are the client's current ones (the clients file); tier and AUM its row in the given month
--   when it has one (a client opened after that month has none yet). A window within the month
--   and the 6 days either side (any week of the month) reads the rows written at load.
-- Grain: one row per client with open_date from from_date to to_date, by open_date, then
--   client_id.
-- Parameters:
--   from_date   date, required   First day of the window.
--   to_date     date, required   Last day of the window.
--   month       month, required   The month whose snapshot gives tier and AUM, YYYY-MM.
--   branch_id   textlist, optional  Branches (the client's home branch); every branch when empty.
--   manager_id  textlist, optional  Managers (the client's manager); every manager when empty.
--   page_rows   int, optional     Only the first page_rows rows (the page shows a slice of a
--               list that may hold a hundred thousand rows at a bank); every row when empty.
-- Looked up: name, phone, segment
-- Columns:
--   open_date     The day the account was opened.
--   client_id     Client.
--   name          Name (personal data).
--   phone         Phone (personal data).
--   branch_id     The client's branch.
--   branch_name   Its name.
--   manager_id    The client's manager (empty: unassigned).
--   manager_name  Their name.
--   segment       Client segment.
--   tier          Tier in the month (empty when no row or closed then).
--   aum           AUM in the month, RMB (empty when no row then).
--   list_rows     Rows on the list, all of them (the same on every row).
with stored as (
    -- a window within the month and the days either side (a week of the month's page): the
    -- rows written at load with the month's tier and AUM (tierflow/cubes.py todo_rows; no
    -- window in a narrowed scope, where $cube_todo_stored is false)
    select
        event_date as open_date,
        client_id,
        branch_id,
        manager_id,
        tier,
        aum
    from todo_rows
    where list = 'opening'
      and month = $month
      and event_date between $from_date and $to_date
      and $cube_todo_stored
      and $from_date >= cast($month || '-01' as date) - $cube_todo_reach_days
      and $to_date <= last_day(cast($month || '-01' as date)) + $cube_todo_reach_days
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
),

-- any other window: the clients file and the month's rows
month_rows as (
    select client_id, tier, aum
    from snapshots
    where month = $month
      and not ($cube_todo_stored
               and $from_date >= cast($month || '-01' as date) - $cube_todo_reach_days
               and $to_date <= last_day(cast($month || '-01' as date)) + $cube_todo_reach_days)
),

-- tier and AUM: the stored rows carry them, the others take them from month_rows at the page
opened as materialized (
    select *
    from stored
    union all
    select
        open_date, client_id, branch_id, manager_id, cast(null as varchar),
        cast(null as decimal(18, 2))
    from clients
    where open_date between $from_date and $to_date
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
      and not ($cube_todo_stored
               and $from_date >= cast($month || '-01' as date) - $cube_todo_reach_days
               and $to_date <= last_day(cast($month || '-01' as date)) + $cube_todo_reach_days)
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows
    from opened
),

page as (
    select p.*, t.*, row_number() over (order by open_date, client_id) as row_no
    from (
        select *
        from opened
        order by open_date, client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        g.open_date,
        g.client_id,
        g.branch_id,
        b.branch_name,
        g.manager_id,
        m.manager_name,
        -- one of the two is empty: month_rows has no rows when the list was stored
        coalesce(g.tier, r.tier) as tier,
        coalesce(g.aum, r.aum) as aum,
        g.list_rows
    from page as g
    left join branches as b on b.branch_id = g.branch_id
    left join managers as m on m.manager_id = g.manager_id
    left join month_rows as r on r.client_id = g.client_id
    order by g.row_no
)

select * from final
