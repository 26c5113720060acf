-- Purpose: Products maturing in a window of days, to call the client before the money leaves
--   (DOMAIN.md "Event-driven service": product maturity; the to-do list of maturities this
--   week). The page passes the window (this week: Monday to Sunday of its reference date).
--   Branch and manager are the client's current ones (the clients file), the person who should
--   call; tier and AUM come from the client's row in the given month.
-- Grain: one row per maturing product (a maturities row) with maturity_date from from_date to
--   to_date, by maturity_date, then amount descending, then client_id, then product_type.
-- Parameters:
--   from_date   date, required   First day of the window.
--   to_date     date, required   Last day of the window.
--   month       month, required   The month whose snapshot gives tier and AUM, YYYY-MM.
--   branch_id   textlist, optional  Branches (the client's home branch); every branch when empty.
--   manager_id  textlist, optional  Managers (the client's manager); every manager when empty.
--   page_rows   int, optional     Only the first page_rows rows (the page shows a slice of a
--               list that may hold a hundred thousand rows at a bank); every row when empty.
-- Looked up: name, phone
-- Columns:
--   maturity_date    The day the product matures.
--   client_id        Client.
--   name             Name (personal data).
--   phone            Phone (personal data).
--   branch_id        The client's branch.
--   branch_name      Its name.
--   manager_id       The client's manager (empty: unassigned).
--   manager_name     Their name.
--   product_type     time_deposit, wealth, fund, insurance or bond.
--   maturing_amount  Amount maturing, RMB.
--   tier             Tier in the month (empty when not present then).
--   aum              AUM in the month, RMB (empty when no row then).
--   list_rows        Rows on the list, all of them (the same on every row).
with due as materialized (
    -- materialized: the owners' semi-join and the list both read it; inlined, the
    -- maturities file would be scanned twice
    select client_id, product_type, amount, maturity_date
    from maturities
    where maturity_date between $from_date and $to_date
),

month_rows as (
    select client_id, tier, aum
    from snapshots
    where month = $month
),

-- the clients' current branch and manager, of the branches and managers asked for (a
-- semi-join: the week's products, thousands, are hashed, not the millions of clients)
owners as (
    select client_id, branch_id, manager_id
    from clients
    where client_id in (select client_id from due)
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
),

listed as materialized (
    select d.*, c.branch_id, c.manager_id
    from due as d
    join owners as c on c.client_id = d.client_id
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows
    from listed
),

page as (
    select
        p.*,
        t.*,
        row_number() over (order by maturity_date, amount desc, client_id, product_type)
            as row_no
    from (
        select *
        from listed
        order by maturity_date, amount desc, client_id, product_type
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        g.maturity_date,
        g.client_id,
        g.branch_id,
        b.branch_name,
        g.manager_id,
        m.manager_name,
        g.product_type,
        g.amount as maturing_amount,
        r.tier,
        r.aum,
        g.list_rows
    from page as g
    left join branches as b on b.branch_id = g.branch_id
    left join managers as m on m.manager_id = g.manager_id
    left join month_rows as r on r.client_id = g.client_id
    order by g.row_no
)

select * from final
