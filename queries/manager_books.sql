-- Purpose: Each manager's book in one month against the book limit (DOMAIN.md "Entities": a
--   manager should look after at most manager_book_limit clients of gold and above): clients,
--   VIP clients (VIP tier or above), AUM under management and open warnings. A client is in a
--   manager's book in M when its snapshot row in M is present and names that manager. A
--   warning is open at the end of M when it was raised on or before that day and no retention
--   case answering it (by warning_id) was closed (retained or lost) by then; only warnings of
--   the book's clients count. Warnings are those the bank delivered (the warnings table).
-- Grain: one row per manager of the managers file in the branch filter (empty books included),
--   by VIP clients descending, then manager_id.
-- Parameters:
--   month       month, required   The month, YYYY-MM.
--   branch_id   textlist, optional  Branches, by the manager's branch; every branch when empty.
--   vip_rank    int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   book_limit  int, setting manager_book_limit   Most VIP clients one manager should have.
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
--   warnings_open  Open warnings of the book's clients.
with target as (
    select distinct month_index, last_day(cast(concat(month, '-01') as date)) as month_end
    from snapshots
    where month = $month
),

book_rows as (
    select s.client_id, s.manager_id, s.tier_rank, s.aum
    from snapshots as s
    join target as t on s.month_index = t.month_index
    where s.present
      and s.manager_id is not null
),

books as (
    select
        manager_id,
        count(*) as clients,
        cast(sum(case when tier_rank >= $vip_rank then 1 else 0 end) as bigint) as vip_clients,
        sum(aum) as aum,
        sum(case when tier_rank >= $vip_rank then aum else 0 end) as vip_aum
    from book_rows
    group by manager_id
),

closed_answers as (
    select distinct r.warning_id
    from retention_cases as r
    cross join target as t
    where r.warning_id is not null
      and r.outcome in ('retained', 'lost')
      and r.closed_on <= t.month_end
),

open_warnings as (
    select b.manager_id, count(*) as warnings_open
    from warnings as w
    cross join target as t
    join book_rows as b on b.client_id = w.client_id
    left join closed_answers as a on a.warning_id = w.warning_id
    where w.raised_on <= t.month_end
      and a.warning_id is null
    group by b.manager_id
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
        cast(coalesce(o.warnings_open, 0) as bigint) as warnings_open
    from managers as m
    left join branches as br on br.branch_id = m.branch_id
    left join books as k on k.manager_id = m.manager_id
    left join open_warnings as o on o.manager_id = m.manager_id
    where $branch_id is null or list_contains($branch_id, m.branch_id)
    order by vip_clients desc, m.manager_id
)

select * from final
