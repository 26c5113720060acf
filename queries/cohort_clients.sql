-- Purpose: The clients behind one cell of the VIP retention triangle (drill-through from
--   cohort_retention, DOMAIN.md "Cohort retention"): the members of one cohort and, k months
--   later, whether each counts as retained by the churn definition (vip_to_mass, the default:
--   present at VIP tier; closure: present; aum_floor: present with AUM at or above the floor).
--   Its row count and retained count equal cohort_retention's cohort_size and retained.
-- Grain: one row per cohort member (of the retained or not retained only, when asked), by
--   cohort_aum descending then client_id; none when cohort month + k is not a month in the
--   data.
-- Parameters:
--   cohort_month  month, required  The cohort's month (its members' first VIP month), YYYY-MM.
--   months_since  int, required  k: months after the cohort month.
--   retained      text, optional  yes: only the retained at k; no: only the others; both when empty
--                 (any other value: none).
--   branch_id     textlist, optional  Cohort members of these branches (the client's branch in its
--                 cohort month); every branch when empty.
--   vip_rank      int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   churn_definition  text, setting churn_definition   What "retained" means: vip_to_mass,
--                     closure or aum_floor (any other value retains nobody).
--   churn_aum_floor   number, setting churn_aum_floor   AUM floor (RMB) for aum_floor.
--   page_rows     int, optional   Only the first page_rows rows (a cell of a bank's triangle
--                 holds up to millions of clients); every row when empty.
-- Looked up: name, phone, manager_id
-- Columns:
--   client_id    Client.
--   name         Client name (personal data).
--   phone        Phone number (personal data).
--   branch_id    The client's branch in the cohort month.
--   manager_id   The client's manager (clients table); empty when unassigned.
--   cohort_aum   AUM in the cohort month, RMB.
--   is_retained  Whether the client counts as retained at k.
--   aum_at_k     AUM in cohort month + k, RMB; empty when not present then.
--   tier_at_k    Tier code in cohort month + k; empty when not present then.
--   list_rows    Rows on the list, all of them (the same on every row).
--   list_aum     Their aum_at_k summed (0 for those not present then), RMB.
with members as (
    -- tier_entries holds each client's first month at the VIP rank or above (built at load)
    select client_id, branch_id, aum as cohort_aum
    from tier_entries
    where min_rank = $vip_rank
      and month = $cohort_month
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

-- the rows of month k after the cohort month (month_index = year * 12 + month - 1, from the
-- parameters, so the files of the other months are skipped by their statistics)
rows_k as (
    select client_id, present, aum, tier, tier_rank
    from snapshots
    where month_index = cast(substr($cohort_month, 1, 4) as integer) * 12
                        + cast(substr($cohort_month, 6, 2) as integer) - 1 + $months_since
),

-- one row when that month is in the data (a triangle cell), none otherwise
later as (
    select count(*) as month_rows
    from rows_k
    having count(*) > 0
),

month_k as (
    select client_id, aum, tier, tier_rank
    from rows_k
    where present
),

-- The members' rows k months on (only when that month is in the data: a triangle cell).
at_k as (
    select
        m.client_id,
        m.branch_id,
        m.cohort_aum,
        s.aum,
        s.tier,
        case when s.client_id is null then false
             when $churn_definition = 'vip_to_mass' then s.tier_rank >= $vip_rank
             when $churn_definition = 'closure' then true
             when $churn_definition = 'aum_floor'
                 then s.aum >= cast($churn_aum_floor as decimal(18, 2))
             else false
        end as is_retained
    from members as m
    cross join later
    left join month_k as s on s.client_id = m.client_id
    where $months_since >= 0
),

listed as materialized (
    select *
    from at_k
    where $retained is null
       or ($retained = 'yes' and is_retained)
       or ($retained = 'no' and not is_retained)
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows,
        sum(coalesce(aum, 0)) as list_aum
    from listed
),

page as (
    select p.*, t.*, row_number() over (order by cohort_aum desc, client_id) as row_no
    from (
        select *
        from listed
        order by cohort_aum desc, client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        client_id,
        branch_id,
        cohort_aum,
        is_retained,
        aum as aum_at_k,
        tier as tier_at_k,
        list_rows,
        list_aum
    from page
    order by row_no
)

select * from final
