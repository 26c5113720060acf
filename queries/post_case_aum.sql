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

-- case_aum (tierflow/cubes.py): each closed case with the client's AUM in the month before it
-- was opened and 1 and 3 months after it was closed, worked out at load
per_case as (
    select outcome, aum_before, aum_after_1m, aum_after_3m
    from case_aum
    where ($from_date is null or closed_on >= $from_date)
      and ($to_date is null or closed_on <= $to_date)
      and ($branch_id is null or list_contains($branch_id, branch_id))
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
