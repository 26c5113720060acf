-- Purpose: Coverage of the early warnings by retention cases (DOMAIN.md "Retention": the
--   share of warnings that got a case at all, and how fast), per branch, rule, severity, tier,
--   manager or source, or in total: the warnings of the `warnings` query (same filters, same
--   answering case), how many a case answers, and how many within 3 and within 7 days of the
--   warning (a case opened before the warning, in its month, answers it at once: 0 days).
--   For a month (no day) at the default case_days, outside a narrowed scope, the counts come
--   from warning_cube (tierflow/cubes.py), counted at load from the same warnings and cases;
--   a day, another case_days or a branch head's or manager's scope (whose cases are the
--   scope's own) match the cases here.
-- Grain: one row per value of the dimension with at least one warning (total: one row, none
--   when there is no warning), most warnings first.
-- Parameters:
--   dimension   text, required   branch, rule, severity, tier, manager, source or total.
--   month       month, optional   Warnings of this month, YYYY-MM; every month when empty.
--   raised_on   date, optional    Only the warnings raised on this day.
--   branch_id   textlist, optional  Branches (of the warning: the client's that month).
--   manager_id  textlist, optional  Managers (of the client's row that month).
--   tier        textlist, optional  Tier codes of the client that month.
--   rule        textlist, optional  Rule codes.
--   severity    textlist, optional  high, medium, low.
--   case_days   int, setting warning_case_days   Days after a warning in which a case of the
--               client answers it.
-- Columns:
--   dimension_value  The branch id, rule, severity, tier, manager id (codes) or source;
--                    unknown when empty; total for the total.
--   value_name       The branch's or manager's name (empty for other dimensions).
--   warnings         Warnings.
--   high_severity    Of them, severity high.
--   amount           Money at stake summed, RMB (a missing amount counts as 0).
--   with_case        Warnings a retention case answers.
--   within_3d        Answered by a case opened at most 3 days after the warning.
--   within_7d        Answered by a case opened at most 7 days after the warning.
--   case_rate        with_case / warnings.
--   within_3d_rate   within_3d / warnings.
--   within_7d_rate   within_7d / warnings.
--   avg_days_to_case Average days from warning to case, over the answered warnings.
with computed as (
    select
        warning_id, 'computed' as source, client_id, branch_id, manager_id, month,
        month_index, raised_on, rule, severity, amount, tier, tier_before, aum, aum_earlier,
        txn_count, txn_average, due_on, product_type, status,
        cast(null as varchar) as note
    from computed_warnings
    where ($month is null or month = $month)
      and ($raised_on is null or raised_on = $raised_on)
      and not ($cube_coverage_stored and $raised_on is null and $case_days = $cube_case_days)
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
      and not ($cube_coverage_stored and $raised_on is null and $case_days = $cube_case_days)
),

listed as (
    select * from computed
    union all
    select * from delivered
),

chosen as (
    select *
    from listed
    where ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
      and ($tier is null or list_contains($tier, tier))
      and ($rule is null or list_contains($rule, rule))
      and ($severity is null or list_contains($severity, severity))
),

-- every case of the client that answers the warning, the first one first
answering as (
    select
        w.warning_id, r.case_id, r.opened_on,
        row_number() over (partition by w.warning_id order by r.opened_on, r.case_id) as n
    from chosen as w
    join retention_cases as r
      on r.client_id = w.client_id
     and (r.warning_id = w.warning_id
          or (year(r.opened_on) * 12 + month(r.opened_on) - 1 >= w.month_index
              and date_diff('day', w.raised_on, r.opened_on) <= $case_days))
),

answered as (
    select
        w.*,
        case when a.opened_on is null then null
             else greatest(date_diff('day', w.raised_on, a.opened_on), 0)
        end as days_to_case
    from chosen as w
    left join answering as a on a.warning_id = w.warning_id and a.n = 1
),

-- each warning as a row of warning_cube's shape, and the cube's rows where it answers
counted as (
    select
        branch_id, rule, severity, tier, manager_id, source,
        1 as warnings,
        coalesce(amount, 0) as amount,
        case when days_to_case is not null then 1 else 0 end as with_case,
        case when days_to_case <= 3 then 1 else 0 end as within_3d,
        case when days_to_case <= 7 then 1 else 0 end as within_7d,
        coalesce(days_to_case, 0) as days_to_case
    from answered
    union all
    select
        branch_id, rule, severity, tier, manager_id, source, warnings, amount, with_case,
        within_3d, within_7d, days_to_case
    from warning_cube
    where $cube_coverage_stored and $raised_on is null and $case_days = $cube_case_days
      and ($month is null or month = $month)
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
      and ($tier is null or list_contains($tier, tier))
      and ($rule is null or list_contains($rule, rule))
      and ($severity is null or list_contains($severity, severity))
),

grouped as (
    select
        -- the dimension switch on the bound parameter (no dynamic SQL)
        coalesce(
            case $dimension
                when 'branch' then branch_id
                when 'rule' then rule
                when 'severity' then severity
                when 'tier' then tier
                when 'manager' then manager_id
                when 'source' then source
                when 'total' then 'total'
            end,
            'unknown') as dimension_value,
        -- bigint: an integer sum is int128 in DuckDB and bigint on Spark
        cast(sum(warnings) as bigint) as warnings,
        cast(sum(case when severity = 'high' then warnings else 0 end) as bigint)
            as high_severity,
        sum(amount) as amount,
        cast(sum(with_case) as bigint) as with_case,
        cast(sum(within_3d) as bigint) as within_3d,
        cast(sum(within_7d) as bigint) as within_7d,
        -- the average over the answered warnings
        case when sum(with_case) = 0 then null
             else cast(sum(days_to_case) as double) / sum(with_case) end as avg_days_to_case
    from counted
    group by 1
),

final as (
    select
        g.dimension_value,
        case $dimension when 'branch' then b.branch_name when 'manager' then m.manager_name
        end as value_name,
        g.warnings,
        g.high_severity,
        g.amount,
        g.with_case,
        g.within_3d,
        g.within_7d,
        -- warnings is a count of at least 1; the guards keep Spark from erroring anyway
        case when g.warnings = 0 then null
             else cast(g.with_case as double) / g.warnings end as case_rate,
        case when g.warnings = 0 then null
             else cast(g.within_3d as double) / g.warnings end as within_3d_rate,
        case when g.warnings = 0 then null
             else cast(g.within_7d as double) / g.warnings end as within_7d_rate,
        g.avg_days_to_case
    from grouped as g
    left join branches as b on $dimension = 'branch' and b.branch_id = g.dimension_value
    left join managers as m on $dimension = 'manager' and m.manager_id = g.dimension_value
    order by g.warnings desc, g.dimension_value
)

select * from final
