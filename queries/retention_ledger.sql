-- Purpose: The retention ledger (挽留台帐, DOMAIN.md "Retention"): every retention case opened
--   in the period, with the client's name, for browsing and export.
-- Grain: one row per retention case, newest opened first (then by case_id).
-- Parameters:
--   from_date  date, optional    First opened_on day counted (inclusive); open-ended when empty.
--   to_date    date, optional    Last opened_on day counted (inclusive); open-ended when empty.
--   branch_id  textlist, optional  Branches of the case; every branch when empty.
--   outcome    text, optional    Only cases with this outcome (retained, lost, pending); all
--              when empty.
--   page_rows  int, optional     Only the first page_rows rows (the page shows a slice of a
--              list that may hold hundreds of thousands); every row when empty.
-- Looked up: name
-- Columns:
--   case_id           Case.
--   client_id         Client.
--   name              Client name (personal data).
--   branch_id         Branch that handled the case.
--   opened_on         Day the case was opened.
--   outcome           retained, lost or pending.
--   closed_on         Day it was closed; empty while pending.
--   first_contact_on  Day of the first contact; empty when none recorded.
--   handler_id        Handler.
--   handler_role      Handler's role code.
--   case_type         Case type code.
--   channel           Channel code.
--   reason            Stated reason code.
--   measure           Measure offered code.
--   aum_at_stake      AUM at stake, RMB; empty when not given.
--   aum_kept          AUM kept, RMB; empty when not given.
--   warning_id        The warning the case answers.
--   list_rows         Cases matching the filters, all of them (the same on every row).
with cases as materialized (
    select *
    from retention_cases
    where ($from_date is null or opened_on >= $from_date)
      and ($to_date is null or opened_on <= $to_date)
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($outcome is null or outcome = $outcome)
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows
    from cases
),

page as (
    select p.*, t.*, row_number() over (order by opened_on desc, case_id) as row_no
    from (
        select *
        from cases
        order by opened_on desc, case_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        r.case_id,
        r.client_id,
        r.branch_id,
        r.opened_on,
        r.outcome,
        r.closed_on,
        r.first_contact_on,
        r.handler_id,
        r.handler_role,
        r.case_type,
        r.channel,
        r.reason,
        r.measure,
        r.aum_at_stake,
        r.aum_kept,
        r.warning_id,
        r.list_rows
    from page as r
    order by r.row_no
)

select * from final
