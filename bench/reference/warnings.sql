-- Purpose: The early warnings (DOMAIN.md "Early warning") of a month or of one day, for branch
--   heads: those the warning rules computed at load time (computed_warnings: large_outflow,
--   downgrade, activity_drop, maturity, dormancy; tierflow/warning_rules.py) beside those the
--   bank's own systems delivered (warnings), each with the retention case that answers it and
--   how fast (DOMAIN.md "Retention": coverage). A delivered warning's month is that of its
--   raised_on; its branch, manager, tier and AUM are the client's row of that month (branch
--   and manager from the clients file when the client has no row then). A case of the client
--   answers a warning when it names the warning (warning_id) or was opened from the first day
--   of the warning's month up to case_days days after raised_on; the first such case counts.
-- Grain: one row per warning matching the filters, by raised_on descending, then severity
--   (high first), amount descending (empty last), warning_id, source.
-- Parameters:
--   month       month, optional   Warnings of this month, YYYY-MM; every month when empty.
--   raised_on   date, optional    Only the warnings raised on this day (today's warnings).
--   branch_id   textlist, optional  Branches (of the warning: the client's that month).
--   manager_id  textlist, optional  Managers (of the client's row that month).
--   tier        textlist, optional  Tier codes of the client that month.
--   rule        textlist, optional  Rule codes: large_outflow, downgrade, activity_drop,
--               maturity, dormancy, other.
--   severity    textlist, optional  high, medium, low.
--   case_days   int, setting warning_case_days   Days after a warning in which a case of the
--               client answers it.
--   page_rows   int, optional     Only the first page_rows rows (the page shows a slice of a
--               list that may hold hundreds of thousands); every row when empty.
-- Looked up: name
-- Columns:
--   warning_id      The warning's id (computed: OUT-, DWN-, ACT-, DRM-, MAT-...; delivered: the
--                   bank's).
--   source          computed (the warning rules) or delivered (the bank's systems).
--   client_id       Client.
--   name            Name (personal data).
--   branch_id       Branch of the warning (the client's that month).
--   manager_id      Manager of the client that month (empty: unassigned).
--   month           Month of the warning, YYYY-MM.
--   raised_on       Day raised: the month's last day (the snapshot date) for month-end rules,
--                   maturity_window_days before the maturity date for maturities, as delivered
--                   otherwise.
--   rule            large_outflow, downgrade, activity_drop, maturity, dormancy or other.
--   severity        high, medium or low (computed: by amount; delivered: as given, may be
--                   empty).
--   amount          Money at stake, RMB: the outflow; the fall since the last month in the
--                   higher tier; the maturing amount; the AUM for activity drop and dormancy;
--                   as delivered.
--   tier            Tier of the client that month (empty when closed or without a row).
--   tier_before     Downgrade: the tier the client fell from.
--   aum             AUM that month, RMB.
--   aum_earlier     Large outflow: AUM the month before; downgrade: AUM in the last month in
--                   the higher tier. RMB.
--   txn_count       Transactions that month.
--   txn_average     Activity drop: the average of the months before.
--   due_on          Maturity: the day the product matures.
--   product_type    Maturity: time_deposit, wealth, fund, insurance or bond.
--   status          Account status that month: normal, dormant or closed.
--   note            The bank's note on a delivered warning.
--   case_id         The retention case that answers the warning (empty: none).
--   case_opened_on  The day it was opened.
--   days_to_case    Days from raised_on to case_opened_on (0 when opened before the warning).
--   list_rows       Warnings matching the filters, all of them (the same on every row).
with computed as (
    select
        warning_id, 'computed' as source, client_id, branch_id, manager_id, month,
        month_index, raised_on, rule, severity, amount, tier, tier_before, aum, aum_earlier,
        txn_count, txn_average, due_on, product_type, status,
        cast(null as varchar) as note
    from computed_warnings
    where ($month is null or month = $month)
      and ($raised_on is null or raised_on = $raised_on)
),

delivered as (
    select
        warning_id, 'delivered' as source, client_id, branch_id, manager_id, month,
        month_index, raised_on, rule, severity, amount, tier,
        cast(null as varchar) as tier_before, aum, cast(null as decimal(18, 2)) as aum_earlier,
        txn_count, cast(null as double) as txn_average, cast(null as date) as due_on,
        cast(null as varchar) as product_type, status, note
    -- the delivered warnings with the client's row of their month (built at load)
    from delivered_warning_rows
    where ($month is null or month = $month)
      and ($raised_on is null or raised_on = $raised_on)
),

listed as (
    select * from computed
    union all
    select * from delivered
),

chosen as materialized (
    select *
    from listed
    where ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
      and ($tier is null or list_contains($tier, tier))
      and ($rule is null or list_contains($rule, rule))
      and ($severity is null or list_contains($severity, severity))
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; cases are matched to the page only
totals as (
    select count(*) as list_rows
    from chosen
),

page as (
    select
        p.*,
        t.*,
        row_number() over (
            order by raised_on desc,
                     case severity when 'high' then 1 when 'medium' then 2 when 'low' then 3
                                   else 4 end,
                     amount desc nulls last, warning_id, source) as row_no
    from (
        select *
        from chosen
        -- warning_id is unique within each source; source last, should the bank deliver an
        -- id the rules also compute
        order by raised_on desc,
                 case severity when 'high' then 1 when 'medium' then 2 when 'low' then 3
                               else 4 end,
                 amount desc nulls last, warning_id, source
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

-- every case of the client that answers the warning, the first one first
answering as (
    select
        w.warning_id, r.case_id, r.opened_on,
        row_number() over (partition by w.warning_id order by r.opened_on, r.case_id) as n
    from page as w
    join retention_cases as r
      on r.client_id = w.client_id
     and (r.warning_id = w.warning_id
          or (year(r.opened_on) * 12 + month(r.opened_on) - 1 >= w.month_index
              and date_diff('day', w.raised_on, r.opened_on) <= $case_days))
),

final as (
    select
        w.warning_id, w.source, w.client_id, w.branch_id, w.manager_id, w.month,
        w.raised_on, w.rule, w.severity, w.amount, w.tier, w.tier_before, w.aum,
        w.aum_earlier, w.txn_count, w.txn_average, w.due_on, w.product_type, w.status, w.note,
        a.case_id, a.opened_on as case_opened_on,
        case when a.opened_on is null then null
             else greatest(date_diff('day', w.raised_on, a.opened_on), 0)
        end as days_to_case,
        w.list_rows
    from page as w
    left join answering as a on a.warning_id = w.warning_id and a.n = 1
    order by w.row_no
)

select * from final
