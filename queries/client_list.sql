-- Purpose: The filterable client list of one month (the Clients page and its downloads; the
--   same list from the command line).
-- Grain: one row per client with a snapshot row in the month (closed rows included, with no
--   tier), by AUM descending then client_id.
-- Parameters:
--   month          month, required   The month, YYYY-MM.
--   branch_id      textlist, optional  Branches (of the client's row that month).
--   manager_id     textlist, optional  Managers (of the client's row that month).
--   tier           textlist, optional  Tier codes.
--   status         textlist, optional  Account statuses: normal, dormant, closed.
--   aum_min        number, optional  Lowest AUM, inclusive.
--   aum_max        number, optional  Highest AUM, inclusive.
--   change_min     number, optional  Lowest AUM change against the month before, inclusive.
--   change_max     number, optional  Highest AUM change against the month before, inclusive.
--   has_open_case  text, optional    yes: only clients with a pending retention case; no: only
--                                     clients without one.
--   search         text, optional    Part of the client id or name (matched literally).
--   client_id      textlist, optional  Exactly these clients (one client's row, when a list
--                                     elsewhere drills to its detail).
--   page_rows      int, optional     Only the first page_rows rows (the page shows a slice of a
--                                     list that may hold millions); every row when empty.
-- Columns:
--   client_id      Client.
--   name           Name (personal data).
--   phone          Phone (personal data).
--   id_number      ID number (personal data).
--   branch_id      Branch that month.
--   branch_name    Its name.
--   manager_id     Manager that month (empty: unassigned).
--   manager_name   Their name.
--   tier           Tier that month (empty when closed).
--   aum            AUM that month, RMB.
--   aum_prev       AUM the month before (0 when not there), RMB.
--   aum_change     aum - aum_prev, RMB.
--   status         normal, dormant or closed.
--   open_cases     Pending retention cases of the client.
--   segment        Client segment.
--   list_clients   Rows matching the filters, all of them (the same on every row).
--   list_aum       Their AUM summed, RMB.
--   list_aum_change  Their aum_change summed, RMB.
with target as (
    select distinct month_index
    from snapshots
    where month = $month
),

rows_this_month as (
    select s.client_id, s.month_index, s.branch_id, s.manager_id, s.tier, s.aum, s.status
    from snapshots as s
    join target as t on s.month_index = t.month_index
),

previous as (
    select s.client_id, s.aum
    from snapshots as s
    join target as t on s.month_index = t.month_index - 1
),

open_cases as (
    select client_id, count(*) as open_cases
    from retention_cases
    where outcome = 'pending'
    group by client_id
),

listed as (
    select
        r.client_id,
        c.name,
        c.phone,
        c.id_number,
        r.branch_id,
        b.branch_name,
        r.manager_id,
        m.manager_name,
        r.tier,
        r.aum,
        coalesce(p.aum, 0) as aum_prev,
        r.aum - coalesce(p.aum, 0) as aum_change,
        r.status,
        coalesce(o.open_cases, 0) as open_cases,
        c.segment
    from rows_this_month as r
    left join clients as c on c.client_id = r.client_id
    left join branches as b on b.branch_id = r.branch_id
    left join managers as m on m.manager_id = r.manager_id
    left join previous as p on p.client_id = r.client_id
    left join open_cases as o on o.client_id = r.client_id
),

filtered as (
    select *
    from listed
    where ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
      and ($tier is null or list_contains($tier, tier))
      and ($status is null or list_contains($status, status))
      and ($aum_min is null or aum >= $aum_min)
      and ($aum_max is null or aum <= $aum_max)
      and ($change_min is null or aum_change >= $change_min)
      and ($change_max is null or aum_change <= $change_max)
      and ($has_open_case is null
           or ($has_open_case = 'yes' and open_cases > 0)
           or ($has_open_case = 'no' and open_cases = 0))
      -- strpos, not LIKE: a % or _ typed in the search box is a character, not a wildcard
      and ($search is null or strpos(client_id, $search) > 0 or strpos(name, $search) > 0)
      and ($client_id is null or list_contains($client_id, client_id))
),

numbered as (
    select
        *,
        count(*) over () as list_clients,
        sum(aum) over () as list_aum,
        sum(aum_change) over () as list_aum_change,
        row_number() over (order by aum desc, client_id) as row_no
    from filtered
),

final as (
    select
        client_id, name, phone, id_number, branch_id, branch_name, manager_id, manager_name,
        tier, aum, aum_prev, aum_change, status, open_cases, segment,
        list_clients, list_aum, list_aum_change
    from numbered
    where $page_rows is null or row_no <= $page_rows
    order by row_no
)

select * from final
