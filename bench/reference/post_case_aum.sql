-- Purpose: What happened to the clients' AUM around closed retention cases (DOMAIN.md
--   "Retention": success is the AUM coming back): per outcome, the clients' AUM in the month
--   before the case was opened against 1 and 3 months after it was closed.
-- Grain: two rows, always: retained, then lost (zero when no case closed so in the period).
-- Parameters:
--   from_date  date, optional    First closed_on day counted (inclusive); open-ended when empty.
--   to_date    date, optional    Last closed_on day counted (inclusive); open-ended when empty.
--   branch_id  textlist, optional  Branches of the case; every branch when empty.
-- Columns:
--   outcome       retained or lost.
--   cases         Cases closed with that outcome in the period.
--   aum_before    Σ over the cases of the client's AUM in the month before opened_on's month, RMB
--                 (0 for a client absent or not present that month, or outside the data).
--   aum_after_1m  Σ of the client's AUM in the month after closed_on's month, RMB (0 likewise,
--                 also when that month is not loaded yet).
--   aum_after_3m  Σ of the client's AUM 3 months after closed_on's month, RMB (0 likewise).
--   ratio_1m      aum_after_1m / aum_before; empty when aum_before is 0.
--   ratio_3m      aum_after_3m / aum_before; empty when aum_before is 0.
with outcomes as (
    select 'retained' as outcome, 1 as outcome_order
    union all select 'lost', 2
),

closed as (
    select
        case_id,
        client_id,
        outcome,
        -- month_index of a date: year * 12 + month - 1, as in the snapshots
        year(opened_on) * 12 + month(opened_on) - 1 as opened_index,
        year(closed_on) * 12 + month(closed_on) - 1 as closed_index
    from retention_cases
    where outcome in ('retained', 'lost')
      and ($from_date is null or closed_on >= $from_date)
      and ($to_date is null or closed_on <= $to_date)
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

-- the three months each case looks at; reading only those rows keeps the joins small
case_months as (
    select client_id, opened_index - 1 as month_index from closed
    union all
    select client_id, closed_index + 1 from closed
    union all
    select client_id, closed_index + 3 from closed
),

present_aum as (
    select s.client_id, s.month_index, s.aum
    from snapshots as s
    join (select distinct client_id, month_index from case_months) as m
        on m.client_id = s.client_id and m.month_index = s.month_index
    where s.present
),

per_case as (
    select
        c.outcome,
        coalesce(b.aum, 0) as aum_before,
        coalesce(a1.aum, 0) as aum_after_1m,
        coalesce(a3.aum, 0) as aum_after_3m
    from closed as c
    left join present_aum as b
        on b.client_id = c.client_id and b.month_index = c.opened_index - 1
    left join present_aum as a1
        on a1.client_id = c.client_id and a1.month_index = c.closed_index + 1
    left join present_aum as a3
        on a3.client_id = c.client_id and a3.month_index = c.closed_index + 3
),

sums as (
    select
        outcome,
        count(*) as cases,
        sum(aum_before) as aum_before,
        sum(aum_after_1m) as aum_after_1m,
        sum(aum_after_3m) as aum_after_3m
    from per_case
    group by outcome
),

final as (
    select
        o.outcome,
        coalesce(s.cases, 0) as cases,
        coalesce(s.aum_before, 0) as aum_before,
        coalesce(s.aum_after_1m, 0) as aum_after_1m,
        coalesce(s.aum_after_3m, 0) as aum_after_3m,
        case when coalesce(s.aum_before, 0) = 0 then null
             else cast(s.aum_after_1m as double) / cast(s.aum_before as double)
        end as ratio_1m,
        case when coalesce(s.aum_before, 0) = 0 then null
             else cast(s.aum_after_3m as double) / cast(s.aum_before as double)
        end as ratio_3m
    from outcomes as o
    left join sums as s on s.outcome = o.outcome
    order by o.outcome_order
)

select * from final
