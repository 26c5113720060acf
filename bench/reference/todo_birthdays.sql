-- Purpose: Clients whose birthday falls in a window of days (DOMAIN.md "Event-driven service":
--   birthday, same day; the to-do list of birthdays this week). The page passes the window
--   (this week: Monday to Sunday of its reference date). A birthday on 29 February is kept on
--   28 February in a year that is not a leap year. Only clients present in the given month
--   (open accounts); branch and manager are the client's current ones (the clients file),
--   tier and AUM its row in the month.
-- Grain: one row per client and birthday in the window (a window of at most a year holds each
--   client's birthday at most once), by birthday, then AUM descending, then client_id.
-- Parameters:
--   from_date   date, required   First day of the window.
--   to_date     date, required   Last day of the window (at most a year after from_date).
--   month       month, required   The month whose snapshot gives presence, tier and AUM, YYYY-MM.
--   branch_id   textlist, optional  Branches (the client's home branch); every branch when empty.
--   manager_id  textlist, optional  Managers (the client's manager); every manager when empty.
--   page_rows   int, optional     Only the first page_rows rows (the page shows a slice of a
--               list that may hold a hundred thousand rows at a bank); every row when empty.
-- Looked up: name, phone
-- Columns:
--   birthday      The day in the window.
--   age           The age the client turns that day.
--   client_id     Client.
--   name          Name (personal data).
--   phone         Phone (personal data).
--   branch_id     The client's branch.
--   branch_name   Its name.
--   manager_id    The client's manager (empty: unassigned).
--   manager_name  Their name.
--   tier          Tier in the month.
--   aum           AUM in the month, RMB.
--   list_rows     Rows on the list, all of them (the same on every row).
with years as (
    select year($from_date) as y
    union
    select year($to_date) as y
),

month_rows as (
    select client_id, tier, aum
    from snapshots
    where month = $month
      and present
),

-- each client's birthday in the window's years (29 February on the 28th outside leap years)
birthdays as (
    -- the clients table read once, with the columns the list needs
    select
        c.client_id, c.branch_id, c.manager_id,
        y.y - year(c.birth_date) as age,
        case when month(c.birth_date) = 2 and day(c.birth_date) = 29
                  and not ((y.y % 4 = 0 and y.y % 100 <> 0) or y.y % 400 = 0)
             then make_date(y.y, 2, 28)
             else make_date(y.y, month(c.birth_date), day(c.birth_date))
        end as birthday
    from clients as c
    cross join years as y
    where c.birth_date is not null
      and ($branch_id is null or list_contains($branch_id, c.branch_id))
      and ($manager_id is null or list_contains($manager_id, c.manager_id))
),

-- the birthdays in the window of clients present in the month
listed as materialized (
    select d.*, r.tier, r.aum
    from birthdays as d
    join month_rows as r on r.client_id = d.client_id
    where d.birthday between $from_date and $to_date
      and d.age > 0
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows
    from listed
),

page as (
    select p.*, t.*, row_number() over (order by birthday, aum desc, client_id) as row_no
    from (
        select *
        from listed
        order by birthday, aum desc, client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        g.birthday,
        cast(g.age as bigint) as age,
        g.client_id,
        g.branch_id,
        b.branch_name,
        g.manager_id,
        m.manager_name,
        g.tier,
        g.aum,
        g.list_rows
    from page as g
    left join branches as b on b.branch_id = g.branch_id
    left join managers as m on m.manager_id = g.manager_id
    order by g.row_no
)

select * from final
