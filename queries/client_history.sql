-- Purpose: One client's months: AUM, tier, branch, manager, activity and status (the client
--   detail view).
-- Grain: one row per month in which the client has a snapshot row, in month order.
-- Parameters:
--   client_id  text, required   The client.
-- Columns:
--   month          YYYY-MM.
--   branch_id      Branch that month.
--   manager_id     Manager that month.
--   tier           Tier (empty when closed).
--   aum            AUM, RMB.
--   aum_avg        Monthly average daily AUM, RMB.
--   products_held  Product types held.
--   txn_count      Transactions that month.
--   status         normal, dormant or closed.
with final as (
    select month, branch_id, manager_id, tier, aum, aum_avg, products_held, txn_count, status
    -- the snapshot rows in client order (built at load): the client's are a row group or two
    from client_months
    where client_id = $client_id
    order by month
)

select * from final
