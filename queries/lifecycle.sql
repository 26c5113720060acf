-- Purpose: Client lifecycle per month (DOMAIN.md "Churn", with "Present in month M"): the
--   clients present in M split into new (never present before), retained (present in M-1 too)
--   and resurrected (not present in M-1 but in some earlier month), plus the clients churned
--   (present in M-1, not in M). Presence only: tiers play no part.
-- Grain: one row per month in the data, zeros included; new + retained + resurrected = the
--   clients present in M.
-- Parameters:
--   branch_id  textlist, optional  Branches, by the client's branch in M (for churned, its branch in
--              M-1); every branch when empty. A client that moves branch is retained in the new
--              branch and not churned from the old one.
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

presence as (
    select client_id, month_index, branch_id
    from snapshots
    where present
),

first_seen as (
    select client_id, min(month_index) as first_index
    from presence
    group by client_id
),

states as (
    select
        p.month_index,
        case when p.month_index = f.first_index then 'new'
             when prev.client_id is not null then 'retained'
             else 'resurrected'
        end as state
    from presence as p
    join first_seen as f on f.client_id = p.client_id
    left join presence as prev
        on prev.client_id = p.client_id and prev.month_index = p.month_index - 1
    where $branch_id is null or list_contains($branch_id, p.branch_id)
),

-- Churned in M, keyed by M: present in M-1 (in the branch filter there), not present in M.
churns as (
    select p.month_index + 1 as month_index, count(*) as churned
    from presence as p
    left join presence as nxt
        on nxt.client_id = p.client_id and nxt.month_index = p.month_index + 1
    where nxt.client_id is null
      and ($branch_id is null or list_contains($branch_id, p.branch_id))
    group by p.month_index + 1
),

state_counts as (
    select
        month_index,
        cast(sum(case when state = 'new' then 1 else 0 end) as bigint) as new,
        cast(sum(case when state = 'retained' then 1 else 0 end) as bigint) as retained,
        cast(sum(case when state = 'resurrected' then 1 else 0 end) as bigint) as resurrected
    from states
    group by month_index
),

final as (
    select
        m.month,
        coalesce(s.new, 0) as new,
        coalesce(s.retained, 0) as retained,
        coalesce(s.resurrected, 0) as resurrected,
        coalesce(c.churned, 0) as churned
    from months as m
    left join state_counts as s on s.month_index = m.month_index
    left join churns as c on c.month_index = m.month_index
    order by m.month
)

select * from final
