-- Purpose: The VIP retention triangle (DOMAIN.md "Cohort retention"): a client's cohort is the
--   first month in the data in which its tier is VIP (gold or above by default); at each k
--   months later it counts as retained if, in that month, it is present at VIP tier
--   (churn definition vip_to_mass, the default), present at all (closure), or present with
--   AUM at or above the churn floor (aum_floor). A client that falls and comes back counts
--   again: recurring retention.
-- Grain: one row per cohort month and months_since k, for every month in the data from the
--   cohort month on (k = 0 included, rows with nobody retained included).
-- Parameters:
--   branch_id  textlist, optional  Cohorts of these branches (the client's branch in its cohort month).
--   vip_rank   int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   churn_definition  text, setting churn_definition   What "retained" means: vip_to_mass,
--                     closure or aum_floor (any other value retains nobody).
--   churn_aum_floor   number, setting churn_aum_floor   AUM floor (RMB) for aum_floor.
-- Columns:
--   cohort_month        First VIP month of the cohort's clients, YYYY-MM.
--   months_since        k: months after the cohort month.
--   cohort_size         Clients in the cohort.
--   retained            Of them, retained in cohort month + k (by churn_definition; by
--                       default present at VIP tier).
--   retention_rate      retained / cohort_size.
--   aum_retention_rate  AUM of the retained at k / the cohort's AUM at k = 0 (empty if that is 0).
with kept_months as (
    -- the month rows in which a client counts as retained, per churn definition
    select client_id, month_index, aum
    from snapshots
    where present
      and case $churn_definition
              when 'vip_to_mass' then tier_rank >= $vip_rank
              when 'closure' then true
              when 'aum_floor' then aum >= cast($churn_aum_floor as decimal(18, 2))
              else false
          end
),

months as (
    select distinct month, month_index
    from snapshots
),

-- tier_entries holds each client's first month at the VIP rank or above (built at load)
members as (
    select client_id, month_index as cohort_index, aum as cohort_aum
    from tier_entries
    where min_rank = $vip_rank
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

cohorts as (
    select cohort_index, count(*) as cohort_size, sum(cohort_aum) as cohort_aum
    from members
    group by cohort_index
),

retained as (
    select
        m.cohort_index,
        v.month_index - m.cohort_index as months_since,
        count(*) as retained,
        sum(v.aum) as retained_aum
    from members as m
    join kept_months as v
        on v.client_id = m.client_id and v.month_index >= m.cohort_index
    group by m.cohort_index, v.month_index - m.cohort_index
),

final as (
    select
        cm.month as cohort_month,
        later.month_index - c.cohort_index as months_since,
        c.cohort_size,
        coalesce(r.retained, 0) as retained,
        case when c.cohort_size = 0 then null
             else cast(coalesce(r.retained, 0) as double) / c.cohort_size
        end as retention_rate,
        case when c.cohort_aum = 0 then null
             else cast(coalesce(r.retained_aum, 0) as double) / cast(c.cohort_aum as double)
        end as aum_retention_rate
    from cohorts as c
    join months as cm on cm.month_index = c.cohort_index
    join months as later on later.month_index >= c.cohort_index
    left join retained as r
        on r.cohort_index = c.cohort_index
       and r.months_since = later.month_index - c.cohort_index
    order by cohort_month, months_since
)

select * from final
