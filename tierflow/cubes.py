"""Aggregates built at load time, so the dashboard's headline figures read thousands of rows
instead of every snapshot row: at 5 million clients × 36 months (180M rows) a scan of the
snapshots takes seconds on two cores, a cube of a few hundred thousand rows milliseconds.

Each cube is one SQL text over the logical tables (``snapshots``, ``tier_entries``). A load
runs it over every month of the new version and writes the result as a lake table, whole,
like the warning engine (tierflow/warning_rules.py): a replaced month or a rebuild leaves
nothing stale. The same text is what the query runner uses where a stored cube cannot be cut
to a user's scope (a manager's own clients: the cubes have no client): there it runs over the
narrowed tables, so the figures follow one definition either way.

- ``tier_cube``: one row per month, branch (the client's that month), present flag, tier and
  the tier ranks the month before and after (empty: not present then), with clients, AUM
  (also the month before and after), product, activity and churn-floor counts. Monthly totals,
  the tier mix, the branch league, churn by month and the lifecycle read it.
- ``cohort_cube``: one row per cohort (branch in the cohort month, VIP rank, cohort month) and
  month k after it in which a member is present, with the members retained at k under each
  churn definition and their AUM. The retention triangle reads it.
- ``cohort_group_cube``: one row per cohort (branch in the cohort month, VIP rank, cohort
  month), tier in the cohort month and segment (``clients.segment``), with the members and
  those retained 3, 6 and 12 months on under each churn definition. The retention by branch,
  entry tier or segment reads it (which of those months are in the data: from ``tier_cube``).
- ``case_aum``: one row per closed retention case (retained or lost) with the client's AUM in
  the month before it was opened and 1 and 3 months after it was closed (0 when not present
  then). The AUM-after-retention figures read it. It keeps its client, so a manager's scope
  cuts it like any table of clients' rows.
- ``dormancy_cube``: one row per month and branch (the client's that month) with dormant
  clients, with their AUM and with those of them reactivated the month after, from
  ``dormant_months`` (tierflow/dormancy.py; a load writes it before the cubes). The dormant
  page's trend reads it (present clients from ``tier_cube``).
- ``transition_cube``: one row per month pair (M and the month ``TRANSITION_GAPS`` months
  before it: 1, 3, 6 or 12), the client's branch in each month, manager in M and tier rank in
  each month (empty: not present then, so new or exited), with clients and their AUM in both
  months. The migration page reads it for those pairs, any other pair joins the two months'
  rows; its rows span two branches, so a branch's scope derives it too. A load computes it one
  month pair at a time.
- ``concentration_cube``: one row per month, branch (empty: all branches) and AUM bucket of the
  ranking of present clients (ntile 100, AUM descending) with its clients and AUM. The wealth
  concentration curve reads it for all branches or one; the all-branch rows make a branch's
  scope derive it.
- ``delivered_warning_rows``: one row per warning the bank delivered (the ``warnings`` table),
  first its month, with the client's snapshot row of that month (branch, manager, tier, AUM,
  transactions, status), else the clients file's branch and manager. The warning list, its
  coverage and the manager books read it instead of matching each warning to the month's
  snapshot rows and the clients table at every question (at 1M clients those two scans were
  most of each warning query's time). It keeps its client, as case_aum; a branch's scope cuts
  it by the warning's branch, as the computed warnings by theirs.

- ``warning_cube``: one row per month, branch, manager and tier (the warning's, as the
  warnings list shows them), rule, severity and source (computed or delivered), with the
  warnings, their amount, those a retention case answers within ``CASE_DAYS`` (the default
  warning_case_days), within 3 and 7 days of the warning, and the days summed. The warning
  coverage and the manager books' open warnings read it where they matched a month's 420k
  warnings (at 5M clients) to the cases at every question. Its answers come from every
  branch's cases, so a narrowed scope, which sees its own cases, matches them as before.

- ``warning_answers``: per month, each warning id that a retention case answers within
  ``CASE_DAYS``, with the warning's client and branch and the first such case (by day opened,
  then case_id) and its day. The warnings list's page reads its rows' answers from it where
  it matched the page to all the cases (408k at 5M clients) at every question; as
  warning_cube, only outside a narrowed scope. It keeps its client, as case_aum, so a scope
  cuts it rather than derive it.

- ``tier_moves``: one row per client and month M in which the client is present in M and
  in the month before at another tier rank, with both ranks and AUMs and the client's branch
  and manager of the clients file (the people who act on the to-do list of VIP upgrades and
  downgrades, which reads it: about 2% of the rows, so a quarter's moves are read where the
  scan read three months). A branch's scope follows the clients file's branch and the
  month's, so it derives it, as a manager's does.

- ``book_cube``: one row per month, branch (the client's that month), manager (that month's)
  and tier rank with the present clients the manager looks after and their AUM. The manager
  books read it where they grouped a month's rows.

- ``unassigned_rows``: per month, the present clients with no manager on that month's row
  and AUM of at least ``UNASSIGNED_FROM`` (the default assignment floor): the list of
  unassigned clients reads them for that floor or a higher one (about 15k rows a month at 5M
  clients, where the scan read 5.9M). It keeps its client, as case_aum.

- ``client_list_head``: per month, branch (the client's that month) and tier, the
  ``LIST_HEAD_ROWS`` present clients with the most AUM (then by client_id) with the columns of
  the client list (manager, AUM, AUM the month before, status), and on each row the group's
  clients, AUM and AUM change, all of them. The Clients page's first page for any choice of
  month, branches and tiers (its default view: every present client) is the top of the union
  of those groups' heads, and its totals the sum of their totals: about a thousand rows read
  where the scan read a whole month. Other filters scan the month. In a manager's scope it is
  computed from the manager's rows, as the aggregates are.

- ``todo_rows``: per month M, the rows of the to-do lists of maturities, new clients and
  birthdays whose day lies within M or ``TODO_REACH_DAYS`` either side (the weeks a page of
  M can show), each with the client's branch and manager of the clients file and tier and AUM
  in M (birthdays: of clients present in M only). Those lists read a window within that
  reach from it, any other window from the rows; in a narrowed scope no window counts as
  stored, as for transition_cube.

``churn_aum_floor`` is baked into tier_cube, cohort_cube and cohort_group_cube
(settings.lake_fingerprint: a change asks for a rebuild); the runner binds the same value as ``$cube_churn_aum_floor`` when it derives them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tierflow import buckets, history
from tierflow.lake import LOAD_MEMORY_LIMIT, copy_parquet, load_connection
from tierflow.settings import Settings

TIER_CUBE = """
select
    month,
    month_index,
    branch_id,
    present,
    tier,
    tier_rank,
    prev_tier_rank,
    next_tier_rank,
    count(*) as clients,
    sum(aum) as aum,
    sum(prev_aum) as prev_aum,
    sum(next_aum) as next_aum,
    count(products_held) as with_products,
    cast(coalesce(sum(products_held), 0) as bigint) as products,
    cast(sum(case when products_held >= 3 then 1 else 0 end) as bigint) as cross_sold,
    cast(sum(case when coalesce(txn_count, 0) > 0 then 1 else 0 end) as bigint) as active,
    cast(coalesce(sum(txn_count), 0) as bigint) as txns,
    cast(sum(case when aum >= cast($cube_churn_aum_floor as decimal(18, 2)) then 1 else 0 end)
         as bigint) as floor_at_risk,
    cast(sum(case when aum >= cast($cube_churn_aum_floor as decimal(18, 2))
                   and (next_aum is null
                        or next_aum < cast($cube_churn_aum_floor as decimal(18, 2)))
                  then 1 else 0 end) as bigint) as floor_churned
from snapshots
group by month, month_index, branch_id, present, tier, tier_rank, prev_tier_rank,
         next_tier_rank
"""

COHORT_CUBE = """
select
    m.branch_id,
    m.min_rank,
    m.month_index as cohort_index,
    s.month_index - m.month_index as months_since,
    cast(sum(case when s.tier_rank >= m.min_rank then 1 else 0 end) as bigint) as vip_retained,
    sum(case when s.tier_rank >= m.min_rank then s.aum end) as vip_retained_aum,
    count(*) as present_retained,
    sum(s.aum) as present_retained_aum,
    cast(sum(case when s.aum >= cast($cube_churn_aum_floor as decimal(18, 2)) then 1 else 0 end)
         as bigint) as floor_retained,
    sum(case when s.aum >= cast($cube_churn_aum_floor as decimal(18, 2)) then s.aum end)
        as floor_retained_aum
from tier_entries as m
join snapshots as s
  on s.client_id = m.client_id and s.month_index >= m.month_index and s.present
group by m.branch_id, m.min_rank, m.month_index, s.month_index - m.month_index
"""

# Each member meets its snapshot rows of cohort month + 3, + 6 and + 12 only (an equality
# join, not every later month); a member with no present row then counts as not retained.
COHORT_GROUP_CUBE = """
select
    e.branch_id,
    e.min_rank,
    e.month_index as cohort_index,
    e.tier_rank,
    c.segment,
    cast(sum(case when h.k = 3 then 1 else 0 end) as bigint) as members,
    cast(sum(case when h.k = 3 and s.tier_rank >= e.min_rank then 1 else 0 end) as bigint)
        as vip_retained_3,
    cast(sum(case when h.k = 3 and s.client_id is not null then 1 else 0 end) as bigint)
        as present_retained_3,
    cast(sum(case when h.k = 3 and s.aum >= cast($cube_churn_aum_floor as decimal(18, 2))
                  then 1 else 0 end) as bigint) as floor_retained_3,
    cast(sum(case when h.k = 6 and s.tier_rank >= e.min_rank then 1 else 0 end) as bigint)
        as vip_retained_6,
    cast(sum(case when h.k = 6 and s.client_id is not null then 1 else 0 end) as bigint)
        as present_retained_6,
    cast(sum(case when h.k = 6 and s.aum >= cast($cube_churn_aum_floor as decimal(18, 2))
                  then 1 else 0 end) as bigint) as floor_retained_6,
    cast(sum(case when h.k = 12 and s.tier_rank >= e.min_rank then 1 else 0 end) as bigint)
        as vip_retained_12,
    cast(sum(case when h.k = 12 and s.client_id is not null then 1 else 0 end) as bigint)
        as present_retained_12,
    cast(sum(case when h.k = 12 and s.aum >= cast($cube_churn_aum_floor as decimal(18, 2))
                  then 1 else 0 end) as bigint) as floor_retained_12
from tier_entries as e
left join clients as c on c.client_id = e.client_id
cross join (select 3 as k union all select 6 union all select 12) as h
left join snapshots as s
  on s.client_id = e.client_id and s.month_index = e.month_index + h.k and s.present
group by e.branch_id, e.min_rank, e.month_index, e.tier_rank, c.segment
"""

CASE_AUM = """
with closed as (
    select
        case_id, client_id, branch_id, outcome, opened_on, closed_on,
        -- month_index of a date: year * 12 + month - 1, as in the snapshots
        year(opened_on) * 12 + month(opened_on) - 1 as opened_index,
        year(closed_on) * 12 + month(closed_on) - 1 as closed_index
    from retention_cases
    where outcome in ('retained', 'lost')
),

-- the three months each case looks at; reading only those rows keeps the joins small
case_months as (
    select client_id, opened_index - 1 as month_index from closed
    union all
    select client_id, closed_index + 1 from closed
    union all
    select client_id, closed_index + 3 from closed
),

present_aum as (
    select s.client_id, s.month_index, s.aum
    from snapshots as s
    join (select distinct client_id, month_index from case_months) as m
        on m.client_id = s.client_id and m.month_index = s.month_index
    where s.present
)

select
    c.case_id, c.client_id, c.branch_id, c.outcome, c.opened_on, c.closed_on,
    coalesce(b.aum, 0) as aum_before,
    coalesce(a1.aum, 0) as aum_after_1m,
    coalesce(a3.aum, 0) as aum_after_3m
from closed as c
left join present_aum as b
    on b.client_id = c.client_id and b.month_index = c.opened_index - 1
left join present_aum as a1
    on a1.client_id = c.client_id and a1.month_index = c.closed_index + 1
left join present_aum as a3
    on a3.client_id = c.client_id and a3.month_index = c.closed_index + 3
"""

DORMANCY_CUBE = """
select
    month,
    month_index,
    branch_id,
    count(*) as dormant,
    sum(aum) as dormant_aum,
    cast(sum(case when reactivated_next then 1 else 0 end) as bigint) as reactivated_next
from dormant_months
group by month, month_index, branch_id
"""

# the month gaps transition_cube stores: the previous month, a quarter, half a year, a year
TRANSITION_GAPS = (1, 3, 6, 12)

# Each side of a pair is keyed by both its months, so a filter on the cube's month_index and
# from_index reaches the scan of each side's month: in a narrowed scope the query derives the
# cube, and then reads just the two months' rows (a month set joined in reads every month).
TRANSITION_CUBE = """
with pair_to as not materialized (
    -- each present row as the later month of its pairs, one a stored gap
    select
        s.month_index as to_index,
        s.month_index - g.gap as from_index,
        s.client_id,
        s.branch_id,
        s.manager_id,
        s.tier_rank,
        s.aum
    from snapshots as s
    cross join (select unnest($cube_transition_gaps) as gap) as g
    where s.present
),

pair_from as not materialized (
    -- and as the earlier month of its pairs
    select
        s.month_index + g.gap as to_index,
        s.month_index as from_index,
        s.client_id,
        s.branch_id,
        s.tier_rank,
        s.aum
    from snapshots as s
    cross join (select unnest($cube_transition_gaps) as gap) as g
    where s.present
),

pair_moves as (
    -- present in the later month: from the earlier one when present then (else new)
    select
        b.to_index as month_index,
        b.from_index,
        a.branch_id as from_branch_id,
        b.branch_id as to_branch_id,
        b.manager_id as to_manager_id,
        a.tier_rank as from_rank,
        b.tier_rank as to_rank,
        a.aum as aum_from,
        b.aum as aum_to
    from pair_to as b
    left join pair_from as a
      on a.client_id = b.client_id and a.to_index = b.to_index and a.from_index = b.from_index
    union all
    -- present in the earlier month, not in the later one: exited
    select
        a.to_index,
        a.from_index,
        a.branch_id,
        cast(null as varchar),
        cast(null as varchar),
        a.tier_rank,
        cast(null as tinyint),
        a.aum,
        cast(null as decimal(18, 2))
    from pair_from as a
    left join pair_to as b
      on b.client_id = a.client_id and b.to_index = a.to_index and b.from_index = a.from_index
    where b.client_id is null
)

select
    month_index,
    from_index,
    from_branch_id,
    to_branch_id,
    to_manager_id,
    from_rank,
    to_rank,
    count(*) as clients,
    sum(aum_from) as aum_from,
    sum(aum_to) as aum_to
from pair_moves
group by month_index, from_index, from_branch_id, to_branch_id, to_manager_id, from_rank,
         to_rank
"""

CONCENTRATION_CUBE = """
with conc_present as (
    select month, month_index, branch_id, client_id, aum
    from snapshots
    where present
),

-- ntile(100) over the ranking (AUM descending, ties by client_id), in each branch and over
-- all branches
conc_ranked as (
    select
        month, month_index, branch_id, aum,
        ntile(100) over (partition by month, month_index, branch_id
                         order by aum desc, client_id) as bucket
    from conc_present
    union all
    select
        month, month_index, cast(null as varchar), aum,
        ntile(100) over (partition by month, month_index order by aum desc, client_id)
    from conc_present
)

select month, month_index, branch_id, bucket, count(*) as clients, sum(aum) as aum
from conc_ranked
group by month, month_index, branch_id, bucket
"""

# (dw_: a derived table's CTEs end up beside the query's on Spark, so their names are its own)
DELIVERED_WARNING_ROWS = """
with dw_delivered as (
    select
        warning_id, client_id, raised_on, rule, severity, amount, note,
        strftime(raised_on, '%Y-%m') as month,
        year(raised_on) * 12 + month(raised_on) - 1 as month_index
    from warnings
),

-- the client's row of the warning's month
dw_month_rows as (
    select s.client_id, s.month_index, s.branch_id, s.manager_id, s.tier, s.aum, s.txn_count,
           s.status
    from snapshots as s
    where s.client_id in (select client_id from dw_delivered)
)

select
    d.month, d.month_index, d.warning_id, d.client_id,
    coalesce(r.branch_id, c.branch_id) as branch_id,
    case when r.client_id is null then c.manager_id else r.manager_id end as manager_id,
    d.raised_on, d.rule, d.severity, d.amount, d.note, r.tier, r.aum, r.txn_count, r.status
from dw_delivered as d
left join dw_month_rows as r on r.client_id = d.client_id and r.month_index = d.month_index
left join clients as c on c.client_id = d.client_id
"""

# The days after a warning in which a case answers it, as warning_cube and warning_answers
# count them: the default of warning_case_days. The coverage, the manager books and the
# warnings list read them at that setting; a bank that sets another one matches the cases at
# every question.
CASE_DAYS = Settings().warning_case_days

# (wa_: the CTEs end up beside the query's on Spark). Warning ids are matched by id, not by
# source, as the warnings list matches them; an id both sources raised in a month takes the
# first case of either.
WARNING_ANSWERS = """
with wa_listed as (
    select warning_id, client_id, branch_id, month, month_index, raised_on
    from computed_warnings
    union all
    select warning_id, client_id, branch_id, month, month_index, raised_on
    from delivered_warning_rows
),

wa_matched as (
    select
        w.month, w.warning_id, w.client_id, w.branch_id, r.case_id, r.opened_on,
        row_number() over (partition by w.month, w.warning_id
                           order by r.opened_on, r.case_id) as n
    from wa_listed as w
    join retention_cases as r
      on r.client_id = w.client_id
     and (r.warning_id = w.warning_id
          or (year(r.opened_on) * 12 + month(r.opened_on) - 1 >= w.month_index
              and date_diff('day', w.raised_on, r.opened_on) <= $cube_case_days))
)

select month, warning_id, client_id, branch_id, case_id, opened_on
from wa_matched
where n = 1
"""

# (wc_: the CTEs end up beside the query's on Spark)
WARNING_CUBE = """
with wc_listed as (
    select 'computed' as source, warning_id, client_id, branch_id, manager_id, month,
           month_index, raised_on, rule, severity, amount, tier
    from computed_warnings
    union all
    select 'delivered' as source, warning_id, client_id, branch_id, manager_id, month,
           month_index, raised_on, rule, severity, amount, tier
    from delivered_warning_rows
),

-- the first case answering each warning id, as the warnings query matches them (by id, not
-- by source: an id both sources raised takes the first case of either)
wc_answered as (
    select w.warning_id, min(r.opened_on) as opened_on
    from wc_listed as w
    join retention_cases as r
      on r.client_id = w.client_id
     and (r.warning_id = w.warning_id
          or (year(r.opened_on) * 12 + month(r.opened_on) - 1 >= w.month_index
              and date_diff('day', w.raised_on, r.opened_on) <= $cube_case_days))
    group by w.warning_id
),

wc_days as (
    select
        w.*,
        case when a.opened_on is null then null
             else greatest(date_diff('day', w.raised_on, a.opened_on), 0)
        end as days_to_case
    from wc_listed as w
    left join wc_answered as a on a.warning_id = w.warning_id
)

select
    month,
    month_index,
    branch_id,
    manager_id,
    tier,
    rule,
    severity,
    source,
    count(*) as warnings,
    sum(coalesce(amount, 0)) as amount,
    cast(sum(case when days_to_case is not null then 1 else 0 end) as bigint) as with_case,
    cast(sum(case when days_to_case <= 3 then 1 else 0 end) as bigint) as within_3d,
    cast(sum(case when days_to_case <= 7 then 1 else 0 end) as bigint) as within_7d,
    cast(coalesce(sum(days_to_case), 0) as bigint) as days_to_case
from wc_days
group by month, month_index, branch_id, manager_id, tier, rule, severity, source
"""

# The rows kept per month, branch and tier in client_list_head: at least the Clients page's
# page of rows (app_pages/clients.py), so that any page of a choice of branches and tiers is
# within the heads of its groups.
LIST_HEAD_ROWS = 1_000

CLIENT_LIST_HEAD = """
with head_present as (
    select client_id, month_index, branch_id, manager_id, tier, aum, prev_aum, status
    from snapshots
    where present
),

-- the month before's AUM where the neighbour column cannot tell it (as client_list does)
head_before as (
    select client_id, month_index + 1 as month_index, aum
    from snapshots
),

head_changes as (
    select h.*, coalesce(h.prev_aum, b.aum, 0) as aum_prev
    from head_present as h
    left join head_before as b
      on h.prev_aum is null and b.client_id = h.client_id and b.month_index = h.month_index
),

head_ranked as (
    select
        *,
        row_number() over (partition by month_index, branch_id, tier
                           order by aum desc, client_id) as group_row,
        count(*) over (partition by month_index, branch_id, tier) as group_clients,
        sum(aum) over (partition by month_index, branch_id, tier) as group_aum,
        sum(aum - aum_prev) over (partition by month_index, branch_id, tier)
            as group_aum_change
    from head_changes
)

select
    month_index, branch_id, tier, group_row, client_id, manager_id, aum, aum_prev, status,
    group_clients, group_aum, group_aum_change
from head_ranked
where group_row <= $cube_head_rows
"""

TIER_MOVES = """
select
    s.month,
    s.month_index,
    s.client_id,
    c.branch_id,
    c.manager_id,
    s.prev_tier_rank,
    s.tier_rank,
    s.tier,
    s.prev_aum,
    s.aum
from snapshots as s
join clients as c on c.client_id = s.client_id
where s.present
  and s.prev_tier_rank is not null
  and s.prev_tier_rank <> s.tier_rank
"""

BOOK_CUBE = """
select
    month,
    month_index,
    branch_id,
    manager_id,
    tier_rank,
    count(*) as clients,
    sum(aum) as aum
from snapshots
where present
  and manager_id is not null
group by month, month_index, branch_id, manager_id, tier_rank
"""

# The AUM from which unassigned_rows keeps a month's clients with no manager: the default of
# manager_assign_floor. The list at that floor or a higher one reads them; a bank that sets a
# lower floor lists from the month's rows.
UNASSIGNED_FROM = Settings().manager_assign_floor

UNASSIGNED_ROWS = """
select month, month_index, client_id, branch_id, tier, aum
from snapshots
where present
  and manager_id is null
  and aum >= cast($cube_unassigned_from as decimal(18, 2))
"""

# The days either side of a month whose to-do list rows todo_rows keeps with the month: a week
# (Monday to Sunday) that holds a day of the month reaches at most 6 days beyond it.
TODO_REACH_DAYS = 6

# (td_: a derived table's CTEs end up beside the query's on Spark, so their names are its own)
TODO_ROWS = """
with td_months as (
    -- each month and the days its lists keep
    select distinct
        month,
        month_index,
        cast(month || '-01' as date) - $cube_todo_reach_days as reach_from,
        last_day(cast(month || '-01' as date)) + $cube_todo_reach_days as reach_to
    from snapshots
),

td_events as (
    select m.month, m.month_index, 'maturity' as list, d.maturity_date as event_date,
           d.client_id, d.product_type, d.amount, cast(null as integer) as age
    from td_months as m
    join maturities as d on d.maturity_date between m.reach_from and m.reach_to
    union all
    select m.month, m.month_index, 'opening', c.open_date, c.client_id, null, null, null
    from td_months as m
    join clients as c on c.open_date between m.reach_from and m.reach_to
    union all
    -- the birthday in each year the reach touches (29 February on the 28th outside leap years)
    select b.month, b.month_index, 'birthday', b.birthday, b.client_id, null, null, b.age
    from (
        select
            y.month, y.month_index, y.reach_from, y.reach_to, c.client_id,
            y.y - year(c.birth_date) as age,
            case when month(c.birth_date) = 2 and day(c.birth_date) = 29
                      and not ((y.y % 4 = 0 and y.y % 100 <> 0) or y.y % 400 = 0)
                 then make_date(y.y, 2, 28)
                 else make_date(y.y, month(c.birth_date), day(c.birth_date))
            end as birthday
        from (
            select m.*, year(m.reach_from) + k.k as y
            from td_months as m
            cross join (select 0 as k union all select 1 as k) as k
        ) as y
        cross join clients as c
        where c.birth_date is not null
    ) as b
    where b.birthday between b.reach_from and b.reach_to
      and b.age > 0
)

select
    e.month,
    e.month_index,
    e.list,
    e.event_date,
    e.client_id,
    c.branch_id,
    c.manager_id,
    e.product_type,
    e.amount,
    e.age,
    r.tier,
    r.aum
from td_events as e
join clients as c on c.client_id = e.client_id
left join snapshots as r on r.client_id = e.client_id and r.month_index = e.month_index
where e.list <> 'birthday' or r.present
"""

# name → (SQL, the logical tables it reads)
CUBES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tier_cube": (TIER_CUBE, ("snapshots",)),
    "cohort_cube": (COHORT_CUBE, ("snapshots", "tier_entries")),
    "cohort_group_cube": (COHORT_GROUP_CUBE, ("snapshots", "tier_entries", "clients")),
    "case_aum": (CASE_AUM, ("snapshots", "retention_cases")),
    "dormancy_cube": (DORMANCY_CUBE, ("dormant_months",)),
    "transition_cube": (TRANSITION_CUBE, ("snapshots",)),
    "concentration_cube": (CONCENTRATION_CUBE, ("snapshots",)),
    "delivered_warning_rows": (DELIVERED_WARNING_ROWS, ("warnings", "snapshots", "clients")),
    # after delivered_warning_rows, which it reads
    "warning_cube": (WARNING_CUBE, ("computed_warnings", "delivered_warning_rows",
                                    "retention_cases")),
    "warning_answers": (WARNING_ANSWERS, ("computed_warnings", "delivered_warning_rows",
                                          "retention_cases")),
    "client_list_head": (CLIENT_LIST_HEAD, ("snapshots",)),
    "tier_moves": (TIER_MOVES, ("snapshots", "clients")),
    "book_cube": (BOOK_CUBE, ("snapshots",)),
    "unassigned_rows": (UNASSIGNED_ROWS, ("snapshots",)),
    "todo_rows": (TODO_ROWS, ("snapshots", "clients", "maturities")),
}
# the tables that keep their client: a manager's scope narrows them by client, no derivation
BY_CLIENT = ("case_aum", "unassigned_rows", "delivered_warning_rows", "warning_answers")
# the cubes a load computes one month at a time, from that month's file and those of the
# months before it that it needs: a self-join or a ranking of all months at once would hold
# every snapshot row in its hash table or sort
BY_MONTH: dict[str, int] = {"transition_cube": max(TRANSITION_GAPS), "concentration_cube": 0,
                            "client_list_head": 1, "todo_rows": 0}
# of those, the cubes computed one part a month and stored gap: the gap alone bound, reading
# month M and the month that gap before it only
BY_GAP = ("transition_cube",)
# the cubes a branch's scope cannot cut out by a filter (rows that span two branches, a
# client's in two months; rankings over all branches; rows in the scope by two branches, the
# month's and the clients file's): it derives them from its rows, as a manager's scope does
ACROSS_BRANCHES = ("transition_cube", "concentration_cube", "tier_moves", "todo_rows")


def params(settings: Settings, narrowed: bool = False) -> dict:
    """The bound values the cubes' SQL takes (and the queries that choose a cube by them).

    In a `narrowed` scope (a branch head's, a manager's) no month pair counts as stored: there
    transition_cube would be computed from the scope's rows, reading each month twice, where
    the queries' join of the two months reads each once (at 5M clients, a branch's matrix in
    0.22 s against 0.40 s). Nor does any window of the to-do lists: todo_rows computed there
    would read a month's reach where the list reads its week. Nor are the warning counts and
    answers: warning_cube and warning_answers count the cases of every branch, a narrowed
    scope only its own."""
    return {"cube_churn_aum_floor": float(settings.churn_aum_floor),
            "cube_head_rows": LIST_HEAD_ROWS,
            "cube_transition_gaps": [] if narrowed else list(TRANSITION_GAPS),
            "cube_todo_reach_days": TODO_REACH_DAYS,
            "cube_todo_stored": not narrowed,
            "cube_unassigned_from": float(UNASSIGNED_FROM),
            "cube_case_days": CASE_DAYS,
            "cube_coverage_stored": not narrowed}


def write(writer, settings: Settings, memory_limit: str = LOAD_MEMORY_LIMIT,
          steps: buckets.Steps | None = None) -> dict[str, int]:
    """Compute every cube of the version being written (its months: this load's files, else
    the base version's) into its folder; return their row counts. `steps` counts a step per
    cube, and one per part of the cubes written a month at a time (a month, or a month and
    gap: seconds to minutes each at 5M clients)."""
    files = history.MonthFiles(writer.dir, writer.base_dir)
    tick = steps.tick if steps is not None else (lambda: None)
    if steps is not None:
        parts = sum(len(TRANSITION_GAPS) if name in BY_GAP else 1 for name in BY_MONTH)
        steps.add(len(CUBES) + parts * len(files.months()))
    months = [str(files.path(m)) for m in files.months()] \
        or [str(writer.dir / "snapshots" / "empty.parquet")]
    work = writer.dir / "work-cubes"
    con = load_connection(work, memory_limit)
    con.execute("set preserve_insertion_order = false")
    entries = writer.dir / "tier_entries.parquet"
    if not entries.exists() and writer.base_dir is not None:
        entries = writer.base_dir / "tier_entries.parquet"
    # every load writes each delivered table whole (merged with the base version's)
    clients = writer.dir / "clients.parquet"
    if not clients.exists() and writer.base_dir is not None:
        clients = writer.base_dir / "clients.parquet"
    sources = {"snapshots": months, "tier_entries": [str(entries)], "clients": [str(clients)],
               "retention_cases": [str(writer.dir / "retention_cases.parquet")],
               "warnings": [str(writer.dir / "warnings.parquet")],
               "maturities": [str(writer.dir / "maturities.parquet")],
               # written by per_client.write just before (one file, from its buckets' parts)
               "dormant_months": [str(writer.dir / "dormant_months.parquet")],
               "computed_warnings": [str(writer.dir / "computed_warnings.parquet")],
               # a cube written before the cubes that read it (CUBES' order)
               "delivered_warning_rows": [str(writer.dir / "delivered_warning_rows.parquet")]}
    counts = {}
    try:
        for name, (sql, reads) in CUBES.items():
            lead = ",\n".join(f"{table} as (select * from read_parquet(${table}))"
                              for table in reads)
            out = writer.dir / f"{name}.parquet"
            bound = {k: v for k, v in params(settings).items() if f"${k}" in sql}
            if name in BY_MONTH:
                _write_by_month(con, lead, sql, bound, BY_MONTH[name], name in BY_GAP, files,
                                {t: sources[t] for t in reads}, work, out, tick)
            else:
                ordered = f"with {lead}\nselect * from ({sql}) order by all"
                copy_parquet(con, ordered, {**bound, **{t: sources[t] for t in reads}}, out,
                             row_group_size=65_536)
            counts[name] = con.execute("select count(*) from read_parquet($out)",
                                       {"out": str(out)}).fetchone()[0]
            tick()
        return counts
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


def _write_by_month(con, lead: str, sql: str, bound: dict, before: int, by_gap: bool,
                    files: history.MonthFiles, sources: dict, work: Path, out: Path,
                    tick) -> None:
    """A cube of BY_MONTH one month at a time: its rows for month M come from the files of M
    and of the `before` months before it (those in the data), or (`by_gap`) one part for each
    of TRANSITION_GAPS from the files of M and of the month that gap before it, and from the
    whole of the other tables it reads (`sources`); the parts are then written as one file.
    `tick()` after each part."""
    months = files.months()
    part_sql = f"with {lead}\nselect * from ({sql}) where month_index = $month_index"
    parts = []
    for month in months:
        index = history.month_index(month)
        runs = [(g, [index - g, index]) for g in TRANSITION_GAPS] if by_gap \
            else [(None, range(index - before, index + 1))]
        for gap, indexes in runs:
            needed = [history.month_of(i) for i in indexes]
            parts.append(work / f"{len(parts):05d}.parquet")
            copy_parquet(con, part_sql,
                         {**bound, **({"cube_transition_gaps": [gap]} if by_gap else {}),
                          **sources,
                          "snapshots": [str(files.path(m)) for m in needed if m in months],
                          "month_index": index}, parts[-1])
            tick()
    if not parts:  # no months: the cube's columns, no rows
        copy_parquet(con, f"with {lead}\nselect * from ({sql})", {**bound, **sources}, out)
        return
    copy_parquet(con, "select * from read_parquet($parts) order by all",
                 {"parts": [str(p) for p in parts]}, out, row_group_size=65_536)
