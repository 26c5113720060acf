-- Purpose: How long reactivated clients stay active (DOMAIN.md "Dormant client reactivation"):
--   of the clients reactivated in R (dormant in R-1, present in R with txn_count > 0; dormant
--   as in dormancy_trend), the share still active k months later. Still active at k: present
--   and not dormant in every month from R to R+k; the first month in which the client is
--   dormant again, closed or missing (a month missing from the data counts as missing) ends
--   its run for good, even if it comes back later. A reactivation counts at k only when R+k
--   is not after the last month of the data (later ones are too recent to tell).
-- Grain: one row per k from 0 up to the longest span any counted reactivation can be followed,
--   in order; none when no reactivation matches.
-- Parameters:
--   from_month       month, optional   First month R counted, YYYY-MM; from the start when empty.
--   to_month         month, optional   Last month R counted, YYYY-MM; to the end when empty.
--   branch_id        textlist, optional  Branches, by the client's branch in R-1 (where it was
--                    dormant); every branch when empty.
--   dormancy_months  int, setting dormancy_months   Months without a transaction (the month
--                    itself included) that make a client dormant.
-- Columns:
--   months_since     k: months after the reactivation month R (0 is R itself).
--   reactivated      Reactivations with R+k in the data.
--   still_active     Of them, active in every month from R to R+k.
--   survival_rate    still_active / reactivated.
with months as (
    select distinct month, month_index
    from snapshots
),

last_month as (
    select max(month_index) as last_index
    from months
),

-- Rows that may be part of a quiet spell (every other present row has txn_count > 0), and the
-- last row before a client is missing from the next month (which ends an active run).
watched as (
    select
        client_id, month_index, branch_id, next_tier_rank,
        status = 'dormant' as flagged,
        txn_count = 0 as no_txn,
        coalesce(txn_count > 0, false) as has_txn
    from snapshots
    where present
      and (txn_count = 0 or txn_count is null or status = 'dormant' or next_tier_rank is null)
),

-- One sort by client and month: the dormancy rule and the client's next watched row.
flags as (
    select
        client_id, month_index, branch_id, next_tier_rank, flagged, has_txn,
        sum(case when no_txn then 1 else 0 end) over (
            partition by client_id order by month_index
            range between $dormancy_months - 1 preceding and current row) as quiet_months,
        lead(month_index) over (partition by client_id order by month_index) as next_index,
        lead(has_txn) over (partition by client_id order by month_index) as next_has_txn
    from watched
),

marked as (
    select
        f.client_id,
        f.month_index,
        f.branch_id,
        f.flagged or f.quiet_months = $dormancy_months as dormant,
        -- reactivated next month: present then with transactions (no watched row then, or one
        -- with txn_count > 0)
        (f.flagged or f.quiet_months = $dormancy_months)
            and f.next_tier_rank is not null
            and (f.next_index is null or f.next_index > f.month_index + 1 or f.next_has_txn)
            as reactivates,
        -- where an active run stops: dormant this month, or missing next month (within the data)
        case when f.flagged or f.quiet_months = $dormancy_months then f.month_index
             when f.next_tier_rank is null and f.month_index < l.last_index
                 then f.month_index + 1
        end as run_end
    from flags as f
    cross join last_month as l
),

-- The reactivation rows (kept by the filters) and every row that can end a run; the first end
-- after a reactivation row is its own run's end.
ends as (
    select
        month_index,
        branch_id,
        reactivates,
        min(run_end) over (
            partition by client_id order by month_index
            rows between 1 following and unbounded following) as next_run_end
    from marked
    where run_end is not null or reactivates
),

reactivations as (
    select
        e.month_index + 1 as reactivated_index,
        e.next_run_end
    from ends as e
    join months as r on r.month_index = e.month_index + 1
    where e.reactivates
      and ($from_month is null or r.month >= $from_month)
      and ($to_month is null or r.month <= $to_month)
      and ($branch_id is null or list_contains($branch_id, e.branch_id))
),

spans as (
    select m.month_index - f.first_index as months_since
    from months as m
    cross join (select min(month_index) as first_index from months) as f
),

final as (
    select
        s.months_since,
        count(*) as reactivated,
        cast(sum(case when r.next_run_end is null
                           or r.next_run_end > r.reactivated_index + s.months_since
                      then 1 else 0 end) as bigint) as still_active,
        cast(sum(case when r.next_run_end is null
                           or r.next_run_end > r.reactivated_index + s.months_since
                      then 1 else 0 end) as double) / count(*) as survival_rate
    from spans as s
    join reactivations as r on 1 = 1
    cross join last_month as l
    where r.reactivated_index + s.months_since <= l.last_index
    group by s.months_since
    order by s.months_since
)

select * from final
