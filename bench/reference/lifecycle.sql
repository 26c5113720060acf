-- Purpose: Client lifecycle per month (DOMAIN.md "Churn", with "Present in month M"): the
--   clients present in M split into new (never present before), retained (present in M-1 too)
--   and resurrected (not present in M-1 but in some earlier month), plus the clients churned
--   (present in M-1, not in M). Presence only: tiers play no part.
-- Grain: one row per month in the data, zeros included; new + retained + resurrected = the
--   clients present in M.
-- Parameters:
--   branch_id  textlist, optional  Branches, by the client's branch in M (for churned, its
--              branch in M-1); every branch when empty. A client that moves branch is retained
--              in the new branch and not churned from the old one.
-- Columns:
--   month        The month M, YYYY-MM.
--   new          Present in M, never present in an earlier month.
--   retained     Present in M and in M-1.
--   resurrected  Present in M, not in M-1, present in some earlier month.
--   churned      Present in M-1, not in M (0 for the first month and after a gap in the data).
with months as (
    select distinct month, month_index
    from snapshots
),

-- prev_tier_rank / next_tier_rank: the tier in M-1 / M+1, empty when not present then
presence as (
    select month_index, prev_tier_rank, next_tier_rank
    from snapshots
    where present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

-- New in M: the client's first month present at all (tier_entries at rank 0, built at load),
-- counted where the client was that month, like every other state
firsts as (
    select month_index, count(*) as new
    from tier_entries
    where min_rank = 0
      and ($branch_id is null or list_contains($branch_id, branch_id))
    group by month_index
),

present_counts as (
    select
        month_index,
        count(*) as present,
        cast(sum(case when prev_tier_rank is not null then 1 else 0 end) as bigint) as retained
    from presence
    group by month_index
),

-- Churned in M, keyed by M: present in M-1 (in the branch filter there), not present in M.
churns as (
    select month_index + 1 as month_index, count(*) as churned
    from presence
    where next_tier_rank is null
    group by month_index + 1
),

final as (
    select
        m.month,
        coalesce(f.new, 0) as new,
        coalesce(p.retained, 0) as retained,
        -- present, but neither first seen now nor present last month: back after a gap
        coalesce(p.present, 0) - coalesce(p.retained, 0) - coalesce(f.new, 0) as resurrected,
        coalesce(c.churned, 0) as churned
    from months as m
    left join present_counts as p on p.month_index = m.month_index
    left join firsts as f on f.month_index = m.month_index
    left join churns as c on c.month_index = m.month_index
    order by m.month
)

select * from final
