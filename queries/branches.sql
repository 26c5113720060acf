-- Purpose: The branches, for filter choices and labels.
-- Grain: one row per branch, by branch_id.
-- Parameters:
--   none
-- Columns:
--   branch_id      Branch.
--   branch_name    Its name.
--   parent_branch  The 分行 it belongs to.
--   region         Its region.
with final as (
    select branch_id, branch_name, parent_branch, region
    from branches
    order by branch_id
)

select * from final
