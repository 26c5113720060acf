-- Purpose: How long reactivated clients stay active (DOMAIN.md "Dormant client reactivation"):
--   of the clients reactivated in R (dormant in R-1, present in R with txn_count > 0; dormant
--   as in dormancy_trend), the share still active k months later. Still active at k: present
--   and not dormant in every month from R to R+k; the first month in which the client is
--   dormant again, closed or missing (a month missing from the data counts as missing) ends
--   its run for good, even if it comes back later (run_end of the reactivations table, worked
--   out at load). A reactivation counts at k only when R+k is not after the last month of the
--   data (later ones are too recent to tell).
-- Grain: one row per k from 0 up to the longest span any counted reactivation can be followed,
--   in order; none when no reactivation matches.
-- Parameters:
--   from_month  month, optional   First month R counted, YYYY-MM; from the start when empty.
--   to_month    month, optional   Last month R counted, YYYY-MM; to the end when empty.
--   branch_id   textlist, optional  Branches, by the client's branch in R-1 (where it was
--               dormant); every branch when empty.
-- Columns:
--   months_since     k: months after the reactivation month R (0 is R itself).
--   reactivated      Reactivations with R+k in the data.
--   still_active     Of them, active in every month from R to R+k.
--   survival_rate    still_active / reactivated.
with months as (
    -- the months in the data, from the aggregate (a scan of every snapshot row otherwise)
    select distinct month_index
    from tier_cube
),

bounds as (
    select min(month_index) as first_index, max(month_index) as last_index
    from months
),

chosen as (
    select month_index as reactivated_index, run_end
    from reactivations
    where ($from_month is null or month >= $from_month)
      and ($to_month is null or month <= $to_month)
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

spans as (
    select m.month_index - b.first_index as months_since, b.last_index
    from months as m
    cross join bounds as b
),

final as (
    select
        s.months_since,
        count(*) as reactivated,
        cast(sum(case when r.run_end is null or r.run_end > r.reactivated_index + s.months_since
                      then 1 else 0 end) as bigint) as still_active,
        cast(sum(case when r.run_end is null or r.run_end > r.reactivated_index + s.months_since
                      then 1 else 0 end) as double) / count(*) as survival_rate
    from spans as s
    join chosen as r on r.reactivated_index + s.months_since <= s.last_index
    group by s.months_since
    order by s.months_since
)

select * from final
