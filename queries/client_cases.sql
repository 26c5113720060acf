-- Purpose: One client's retention cases (the client detail view).
-- Grain: one row per case of the client, newest first.
-- Parameters:
--   client_id  text, required   The client.
-- Columns:
--   case_id           Case.
--   branch_id         Branch that handled it.
--   opened_on         Opened.
--   first_contact_on  First contact.
--   closed_on         Closed (empty while pending).
--   outcome           retained, lost or pending.
--   case_type         Case type.
--   channel           Channel.
--   reason            Stated reason.
--   measure           Measure offered.
--   aum_at_stake      AUM at stake, RMB.
--   aum_kept          AUM kept, RMB.
with final as (
    select case_id, branch_id, opened_on, first_contact_on, closed_on, outcome, case_type,
           channel, reason, measure, aum_at_stake, aum_kept
    from retention_cases
    where client_id = $client_id
    order by opened_on desc, case_id
)

select * from final
