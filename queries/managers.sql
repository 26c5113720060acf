-- Purpose: The managers, for filter choices and labels.
-- Grain: one row per manager, by branch then manager_id.
-- Parameters:
--   branch_id  textlist, optional  Managers of these branches; every branch when empty.
-- Columns:
--   manager_id    Manager.
--   manager_name  Name.
--   branch_id     Their branch.
--   role          Post (理财经理, 客户经理, 投资顾问, ...).
with final as (
    select manager_id, manager_name, branch_id, role
    from managers
    where $branch_id is null or list_contains($branch_id, branch_id)
    order by branch_id, manager_id
)

select * from final
