-- Purpose: The retention funnel (DOMAIN.md "Retention": coverage of warnings and contact):
--   warnings raised in the period, retention cases opened in the period, of those the ones
--   with a first contact, and of those the ones retained.
-- Grain: four rows, always, in funnel order (zero when a stage is empty).
-- Parameters:
--   from_date  date, optional    First day counted (inclusive): raised_on for warnings, opened_on
--              for cases; open-ended when empty.
--   to_date    date, optional    Last day counted (inclusive), as from_date; open-ended when empty.
--   branch_id  textlist, optional  Branches: for warnings the client's branch (clients table), for
--              cases the branch of the case; every branch when empty.
-- Columns:
--   stage        warnings, cases_opened, contacted or retained.
--   stage_order  1 to 4, the funnel order.
--   cases        Warnings raised (warnings stage), cases opened, of them contacted (first contact
--                recorded, on any date), of those retained (outcome retained, whenever closed).
with stages as (
    select 'warnings' as stage, 1 as stage_order
    union all select 'cases_opened', 2
    union all select 'contacted', 3
    union all select 'retained', 4
),

raised as (
    select count(*) as cases
    from warnings as w
    left join clients as c on c.client_id = w.client_id
    where ($from_date is null or w.raised_on >= $from_date)
      and ($to_date is null or w.raised_on <= $to_date)
      and ($branch_id is null or list_contains($branch_id, c.branch_id))
),

opened as (
    select first_contact_on, outcome
    from retention_cases
    where ($from_date is null or opened_on >= $from_date)
      and ($to_date is null or opened_on <= $to_date)
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

case_counts as (
    select
        count(*) as cases_opened,
        cast(sum(case when first_contact_on is not null then 1 else 0 end) as bigint)
            as contacted,
        cast(sum(case when first_contact_on is not null and outcome = 'retained' then 1
                      else 0 end) as bigint) as retained
    from opened
),

final as (
    select
        s.stage,
        s.stage_order,
        coalesce(case s.stage
                     when 'warnings' then r.cases
                     when 'cases_opened' then n.cases_opened
                     when 'contacted' then n.contacted
                     when 'retained' then n.retained
                 end, 0) as cases
    from stages as s
    cross join raised as r
    cross join case_counts as n
    order by s.stage_order
)

select * from final
