-- Purpose: The dormant clients of one month, most AUM first: whom to call first to reactivate
--   (DOMAIN.md "Dormant client reactivation", "Dormant in month M"). Dormant in M: present in
--   M and either status dormant, or txn_count = 0 in M and in each of the dormancy_months - 1
--   months before it (as in dormancy_trend; worked out at load, the dormant_months table).
-- Grain: one row per client dormant in the month, by AUM descending then client_id.
-- Parameters:
--   month       month, required   The month, YYYY-MM.
--   branch_id   textlist, optional  Branches (of the client's row that month).
--   manager_id  textlist, optional  Managers (of the client's row that month).
--   tier        textlist, optional  Tier codes.
--   page_rows   int, optional     Only the first page_rows rows (the page shows a slice of a
--               list that may hold hundreds of thousands); every row when empty.
-- Looked up: name, phone
-- Columns:
--   client_id      Client.
--   name           Name (personal data).
--   phone          Phone (personal data).
--   branch_id      Branch that month.
--   branch_name    Its name.
--   manager_id     Manager that month (empty: unassigned).
--   manager_name   Their name.
--   tier           Tier that month.
--   aum            AUM that month, RMB.
--   status         Account status the bank delivered: normal or dormant.
--   quiet_months   Months in a row without a transaction up to the month (0 when the month
--                  has transactions and only the status says dormant).
--   last_txn_date  Last transaction date the bank delivered.
--   list_rows      Clients matching the filters, all of them (the same on every row).
--   list_aum       Their AUM summed, RMB.
with dormant as materialized (
    select client_id, branch_id, manager_id, tier, aum, status, quiet_months, last_txn_date
    from dormant_months
    where month = $month
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
      and ($tier is null or list_contains($tier, tier))
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows,
        sum(aum) as list_aum
    from dormant
),

page as (
    select p.*, t.*, row_number() over (order by aum desc, client_id) as row_no
    from (
        select *
        from dormant
        order by aum desc, client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        d.client_id,
        d.branch_id,
        b.branch_name,
        d.manager_id,
        m.manager_name,
        d.tier,
        d.aum,
        d.status,
        cast(d.quiet_months as bigint) as quiet_months,
        d.last_txn_date,
        d.list_rows,
        d.list_aum
    from page as d
    left join branches as b on b.branch_id = d.branch_id
    left join managers as m on m.manager_id = d.manager_id
    order by d.row_no
)

select * from final
