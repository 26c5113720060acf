-- Purpose: The filterable client list of one month (the Clients page and its downloads; the
--   same list from the command line).
-- Grain: one row per client with a snapshot row in the month (closed rows included, with no
--   tier), by AUM descending then client_id. A first page of every present client (the
--   statuses normal and dormant, the page's default) for a choice of branches and tiers comes
--   from client_list_head, stored at load: the top of those groups' heads, with the sum of
--   their totals. Any other filter, or every row (downloads), runs over the month's rows.
--   Branch and manager names and open cases are joined to the page's rows only, and the
--   clients' names (the looked-up columns) are added by the runner to those rows.
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
-- Looked up: name, phone, id_number, segment
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
with -- The page from the heads stored at load (client_list_head) when only month, branches and
-- tiers narrow every present client and the page is within a head; the condition depends on
-- the parameters alone, so the path not taken reads nothing. The same condition, negated,
-- guards the scan of the month below. $cube_head_rows, bound by the runner, is how many rows
-- a group's head holds (cubes.LIST_HEAD_ROWS).
head_rows as (
    select *
    from client_list_head
    where month_index = cast(substr($month, 1, 4) as integer) * 12
                        + cast(substr($month, 6, 2) as integer) - 1
      and coalesce($page_rows is not null and $page_rows <= $cube_head_rows
               and list_contains($status, 'normal') and list_contains($status, 'dormant')
               and not list_contains($status, 'closed')
               and $manager_id is null and $aum_min is null and $aum_max is null
               and $change_min is null and $change_max is null and $has_open_case is null
               and $search is null and $client_id is null, false)
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($tier is null or list_contains($tier, tier))
),

month_rows as (
    -- month_index = year * 12 + month - 1, from the parameter: the files of other months
    -- are skipped by their statistics
    select client_id, month_index, branch_id, manager_id, tier, aum, prev_aum, status
    from snapshots
    where month_index = cast(substr($month, 1, 4) as integer) * 12
                        + cast(substr($month, 6, 2) as integer) - 1
      and not coalesce($page_rows is not null and $page_rows <= $cube_head_rows
               and list_contains($status, 'normal') and list_contains($status, 'dormant')
               and not list_contains($status, 'closed')
               and $manager_id is null and $aum_min is null and $aum_max is null
               and $change_min is null and $change_max is null and $has_open_case is null
               and $search is null and $client_id is null, false)
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
      and ($tier is null or list_contains($tier, tier))
      and ($status is null or list_contains($status, status))
      and ($aum_min is null or aum >= $aum_min)
      and ($aum_max is null or aum <= $aum_max)
      and ($client_id is null or list_contains($client_id, client_id))
),

-- The month before's AUM, for the rows whose neighbour column cannot tell it: prev_aum (set
-- at load on present rows) holds it where the client is present in both months. The rest
-- (new, returning and closed clients) find it among the month before's rows whose next_aum
-- is empty (closed there, or not present here): a few percent of that month, so this month
-- is not scanned a second time for its rows without prev_aum.
previous as (
    select client_id, aum
    from snapshots
    where month_index = cast(substr($month, 1, 4) as integer) * 12
                        + cast(substr($month, 6, 2) as integer) - 2
      and next_aum is null
),

open_cases as (
    select client_id, count(*) as open_cases
    from retention_cases
    where outcome = 'pending'
    group by client_id
),

-- the clients with a pending case, read only when the list is filtered by them: without the
-- filter this is empty, and matching a month's rows against it costs next to nothing
case_clients as (
    select client_id
    from open_cases
    where $has_open_case is not null
),

named as (
    -- the clients whose name holds the searched text (no rows without a search)
    select client_id
    from clients
    where $search is not null
      and strpos(name, $search) > 0
),

filtered as (
    select
        r.client_id,
        r.branch_id,
        r.manager_id,
        r.tier,
        r.aum,
        coalesce(r.prev_aum, p.aum, 0) as aum_prev,
        r.aum - coalesce(r.prev_aum, p.aum, 0) as aum_change,
        r.status
    from month_rows as r
    left join previous as p on p.client_id = r.client_id
    where ($change_min is null or r.aum - coalesce(r.prev_aum, p.aum, 0) >= $change_min)
      and ($change_max is null or r.aum - coalesce(r.prev_aum, p.aum, 0) <= $change_max)
      -- a semi-join, not a join: only the page's rows need their count of cases
      and ($has_open_case is null
           or ($has_open_case = 'yes') = (r.client_id in (select client_id from case_clients)))
      -- strpos, not LIKE: a % or _ typed in the search box is a character, not a wildcard
      and ($search is null or strpos(r.client_id, $search) > 0
           or r.client_id in (select client_id from named))
),

totals as (
    -- one of the two paths has rows: the scan's count, or the heads' groups' totals (each
    -- group's first row carries them)
    select
        cast(sum(list_clients) as bigint) as list_clients,
        sum(list_aum) as list_aum,
        sum(list_aum_change) as list_aum_change
    from (
        select count(*) as list_clients, sum(aum) as list_aum, sum(aum_change) as list_aum_change
        from filtered
        union all
        select sum(group_clients), sum(group_aum), sum(group_aum_change)
        from head_rows
        where group_row = 1
    )
),

page as (
    -- the first page_rows rows (every row without it): a top-N, not a sort of the whole list
    select *
    from (
        select client_id, branch_id, manager_id, tier, aum, aum_prev, aum_change, status
        from filtered
        union all
        select client_id, branch_id, manager_id, tier, aum, aum_prev, aum - aum_prev, status
        from head_rows
    )
    order by aum desc, client_id
    limit coalesce($page_rows, 2147483647)
),

final as (
    select
        g.client_id, g.branch_id, b.branch_name, g.manager_id, m.manager_name, g.tier, g.aum,
        g.aum_prev, g.aum_change, g.status, coalesce(o.open_cases, 0) as open_cases,
        t.list_clients, t.list_aum, t.list_aum_change
    from page as g
    cross join totals as t
    left join open_cases as o on o.client_id = g.client_id
    left join branches as b on b.branch_id = g.branch_id
    left join managers as m on m.manager_id = g.manager_id
    order by g.aum desc, g.client_id
)

select * from final
