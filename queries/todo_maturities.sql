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
with due as (
    select client_id, product_type, amount, maturity_date
    from maturities
    where maturity_date between $from_date and $to_date
),

month_rows as (
    select client_id, tier, aum
    from snapshots
    where month = $month
),

final as (
    select
        d.maturity_date,
        d.client_id,
        c.name,
        c.phone,
        c.branch_id,
        b.branch_name,
        c.manager_id,
        m.manager_name,
        d.product_type,
        d.amount as maturing_amount,
        r.tier,
        r.aum
    from due as d
    join clients as c on c.client_id = d.client_id
    left join branches as b on b.branch_id = c.branch_id
    left join managers as m on m.manager_id = c.manager_id
    left join month_rows as r on r.client_id = d.client_id
    where ($branch_id is null or list_contains($branch_id, c.branch_id))
      and ($manager_id is null or list_contains($manager_id, c.manager_id))
    order by d.maturity_date, d.amount desc, d.client_id, d.product_type
)

select * from final
