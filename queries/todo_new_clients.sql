-- Purpose: Clients who opened their account in a window of days (DOMAIN.md "Event-driven
--   service": new account, same week; the to-do list of new clients this week). The page
--   passes the window (this week: Monday to Sunday of its reference date). Branch and manager
--   are the client's current ones (the clients file); tier and AUM its row in the given month
--   when it has one (a client opened after that month has none yet).
-- Grain: one row per client with open_date from from_date to to_date, by open_date, then
--   client_id.
-- Parameters:
--   from_date   date, required   First day of the window.
--   to_date     date, required   Last day of the window.
--   month       month, required   The month whose snapshot gives tier and AUM, YYYY-MM.
--   branch_id   textlist, optional  Branches (the client's home branch); every branch when empty.
--   manager_id  textlist, optional  Managers (the client's manager); every manager when empty.
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
with month_rows as (
    select client_id, tier, aum
    from snapshots
    where month = $month
),

final as (
    select
        c.open_date,
        c.client_id,
        c.name,
        c.phone,
        c.branch_id,
        b.branch_name,
        c.manager_id,
        m.manager_name,
        c.segment,
        r.tier,
        r.aum
    from clients as c
    left join branches as b on b.branch_id = c.branch_id
    left join managers as m on m.manager_id = c.manager_id
    left join month_rows as r on r.client_id = c.client_id
    where c.open_date between $from_date and $to_date
      and ($branch_id is null or list_contains($branch_id, c.branch_id))
      and ($manager_id is null or list_contains($manager_id, c.manager_id))
    order by c.open_date, c.client_id
)

select * from final
