-- Purpose: Each manager's book in one month against the book limit (DOMAIN.md "Entities": a
--   manager should look after at most manager_book_limit clients of gold and above): clients,
--   VIP clients (VIP tier or above), AUM under management and the month's warnings no case
--   answers yet. A client is in a manager's book in M when its snapshot row in M is present
--   and names that manager. Warnings: those of the `warnings` query for the month (computed
--   by the warning rules and delivered by the bank, a delivered one taking the manager of the
--   client's row that month, else of the clients file), counted for the manager they name; a
--   warning is open when no retention case answers it (as in `warnings`: a case of the client
--   naming it, or opened from the first day of the warning's month up to case_days days after
--   it). Outside a narrowed scope at the default case_days the counts come from
--   warning_cube (tierflow/cubes.py), counted at load from the same warnings and cases.
-- Grain: one row per manager of the managers file in the branch filter (empty books included),
--   by VIP clients descending, then manager_id.
-- Parameters:
--   month       month, required   The month, YYYY-MM.
--   branch_id   textlist, optional  Branches, by the manager's branch; every branch when empty.
--   vip_rank    int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   book_limit  int, setting manager_book_limit   Most VIP clients one manager should have.
--   case_days   int, setting warning_case_days   Days after a warning in which a case of the
--               client answers it.
-- Columns:
--   manager_id     Manager.
--   manager_name   Name.
--   branch_id      The manager's branch.
--   branch_name    Its name.
--   role           Post.
--   clients        Clients in the book.
--   vip_clients    Of them, at VIP tier or above.
--   book_limit     The limit (the setting).
--   over_limit     vip_clients above the limit (0 when within it).
--   load_rate      vip_clients / book_limit.
--   aum            AUM of the book, RMB.
--   vip_aum        AUM of its VIP clients, RMB.
--   warnings       The month's warnings naming the manager.
--   warnings_open  Of them, answered by no retention case.
with books as (
    -- the month's present rows grouped by manager and tier rank at load (tierflow/cubes.py
    -- book_cube)
    select
        manager_id,
        cast(sum(clients) as bigint) as clients,
        cast(sum(case when tier_rank >= $vip_rank then clients else 0 end) as bigint)
            as vip_clients,
        sum(aum) as aum,
        sum(case when tier_rank >= $vip_rank then aum else 0 end) as vip_aum
    from book_cube
    where month = $month
    group by manager_id
),

-- the month's warnings as the `warnings` query lists them: computed, and delivered ones with
-- the manager of the client's row that month (else of the clients file). Outside a narrowed
-- scope at the default case_days they are counted at load (tierflow/cubes.py warning_cube);
-- otherwise matched to the scope's cases here, as warning_coverage does.
month_warnings as (
    select warning_id, client_id, manager_id, month_index, raised_on
    from computed_warnings
    where month = $month
      and not ($cube_coverage_stored and $case_days = $cube_case_days)
    union all
    select warning_id, client_id, manager_id, month_index, raised_on
    from delivered_warning_rows
    where month = $month
      and not ($cube_coverage_stored and $case_days = $cube_case_days)
),

answered as (
    select distinct w.warning_id
    from month_warnings as w
    join retention_cases as r
      on r.client_id = w.client_id
     and (r.warning_id = w.warning_id
          or (year(r.opened_on) * 12 + month(r.opened_on) - 1 >= w.month_index
              and date_diff('day', w.raised_on, r.opened_on) <= $case_days))
),

warning_counts as (
    select
        w.manager_id,
        count(*) as warnings,
        cast(sum(case when a.warning_id is null then 1 else 0 end) as bigint) as warnings_open
    from month_warnings as w
    left join answered as a on a.warning_id = w.warning_id
    where w.manager_id is not null
    group by w.manager_id
    union all
    select
        manager_id,
        cast(sum(warnings) as bigint) as warnings,
        cast(sum(warnings - with_case) as bigint) as warnings_open
    from warning_cube
    where $cube_coverage_stored and $case_days = $cube_case_days
      and month = $month
      and manager_id is not null
    group by manager_id
),

final as (
    select
        m.manager_id,
        m.manager_name,
        m.branch_id,
        br.branch_name,
        m.role,
        cast(coalesce(k.clients, 0) as bigint) as clients,
        cast(coalesce(k.vip_clients, 0) as bigint) as vip_clients,
        cast($book_limit as bigint) as book_limit,
        cast(greatest(coalesce(k.vip_clients, 0) - $book_limit, 0) as bigint) as over_limit,
        case when $book_limit = 0 then null
             else cast(coalesce(k.vip_clients, 0) as double) / $book_limit end as load_rate,
        cast(coalesce(k.aum, 0) as decimal(18, 2)) as aum,
        cast(coalesce(k.vip_aum, 0) as decimal(18, 2)) as vip_aum,
        cast(coalesce(o.warnings, 0) as bigint) as warnings,
        cast(coalesce(o.warnings_open, 0) as bigint) as warnings_open
    from managers as m
    left join branches as br on br.branch_id = m.branch_id
    left join books as k on k.manager_id = m.manager_id
    left join warning_counts as o on o.manager_id = m.manager_id
    where $branch_id is null or list_contains($branch_id, m.branch_id)
    order by vip_clients desc, m.manager_id
)

select * from final
