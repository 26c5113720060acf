-- Purpose: The dormant clients of one month, most AUM first: whom to call first to reactivate
--   (DOMAIN.md "Dormant client reactivation", "Dormant in month M"). Dormant in M: present in
--   M and either status dormant, or txn_count = 0 in M and in each of the dormancy_months - 1
--   months before it (the same rule as dormancy_trend).
-- Grain: one row per client dormant in the month, by AUM descending then client_id.
-- Parameters:
--   month            month, required   The month, YYYY-MM.
--   branch_id        textlist, optional  Branches (of the client's row that month).
--   manager_id       textlist, optional  Managers (of the client's row that month).
--   tier             textlist, optional  Tier codes.
--   dormancy_months  int, setting dormancy_months   Months without a transaction (the month
--                    itself included) that make a client dormant.
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
--   quiet_months   Months without a transaction among the month and the dormancy_months - 1
--                  before it (equal to dormancy_months unless only the status says dormant).
--   last_txn_date  Last transaction date the bank delivered.
with target as (
    select distinct month_index
    from snapshots
    where month = $month
),

-- months without a transaction in the span that ends with the month
quiet as (
    select s.client_id, count(*) as quiet_months
    from snapshots as s
    join target as t
        on s.month_index between t.month_index - $dormancy_months + 1 and t.month_index
    where s.present
      and s.txn_count = 0
    group by s.client_id
),

dormant as (
    select
        s.client_id, s.branch_id, s.manager_id, s.tier, s.aum, s.status, s.last_txn_date,
        coalesce(q.quiet_months, 0) as quiet_months
    from snapshots as s
    join target as t on s.month_index = t.month_index
    left join quiet as q on q.client_id = s.client_id
    where s.present
      and (s.status = 'dormant' or q.quiet_months = $dormancy_months)
),

final as (
    select
        d.client_id,
        c.name,
        c.phone,
        d.branch_id,
        b.branch_name,
        d.manager_id,
        m.manager_name,
        d.tier,
        d.aum,
        d.status,
        cast(d.quiet_months as bigint) as quiet_months,
        d.last_txn_date
    from dormant as d
    left join clients as c on c.client_id = d.client_id
    left join branches as b on b.branch_id = d.branch_id
    left join managers as m on m.manager_id = d.manager_id
    where ($branch_id is null or list_contains($branch_id, d.branch_id))
      and ($manager_id is null or list_contains($manager_id, d.manager_id))
      and ($tier is null or list_contains($tier, d.tier))
    order by d.aum desc, d.client_id
)

select * from final
