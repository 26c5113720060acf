-- Purpose: Each branch's AUM and clients month by month (the league table's trend lines and
--   the branch comparison over time).
-- Grain: one row per branch and month in which the branch has a present client, by branch
--   then month.
-- Parameters:
--   branch_id  textlist, optional  Branches; every branch when empty.
-- Columns:
--   branch_id  Branch (of the client's row that month).
--   month      YYYY-MM.
--   clients    Present clients.
--   aum        Their AUM, RMB.
with present as (
    select branch_id, month, aum
    from snapshots
    where present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

final as (
    select branch_id, month, count(*) as clients, sum(aum) as aum
    from present
    group by branch_id, month
    order by branch_id, month
)

select * from final
