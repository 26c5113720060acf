-- Purpose: The clients behind a cell of the tier transition matrix (drill-through of
--   tier_transition, DOMAIN.md "Tier transition"): exactly the clients tier_transition counts
--   in the cell from_tier -> to_tier, with the same branch filter.
-- Grain: one row per client present in from_month or in to_month whose move matches the cell
--   (every cell when from_tier and to_tier are empty; a whole row or column of the matrix when
--   one is); ordered by aum_to (largest first), then client_id.
-- Parameters:
--   from_month  month, required   The earlier month, YYYY-MM.
--   to_month    month, required   The later month, YYYY-MM.
--   from_tier   text, optional   Tier code in from_month, or new; every from-tier when empty.
--   to_tier     text, optional   Tier code in to_month, or exited; every to-tier when empty.
--   branch_id   textlist, optional  Branches (comma-separated on the command line), each month
--               by the client's branch in that month, as tier_transition does (a client who
--               moved branch exits one and is new in the other).
--   page_rows   int, optional     Only the first page_rows rows (a cell of a bank's matrix holds
--               up to millions of clients); every row when empty.
-- Looked up: name, phone
-- Columns:
--   client_id   Client.
--   name        Client name (personal data).
--   phone       Client phone (personal data).
--   branch_id   Branch in to_month (in from_month for an exited client).
--   manager_id  Manager in to_month (in from_month for an exited client); empty when unassigned.
--   from_tier   Tier in from_month, or new.
--   to_tier     Tier in to_month, or exited.
--   aum_from    AUM in from_month (0 for new), RMB.
--   aum_to      AUM in to_month (0 for exited), RMB.
--   list_rows   Rows on the list, all of them (the same on every row).
--   list_aum    Their aum_to summed, RMB.
with month_a as (
    select client_id, tier, branch_id, manager_id, aum
    from snapshots
    where month = $from_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

month_b as (
    select client_id, tier, branch_id, manager_id, aum
    from snapshots
    where month = $to_month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

moves as (
    select
        coalesce(b.client_id, a.client_id) as client_id,
        -- the to_month row decides, even when its manager is empty; from_month only for exited
        case when b.client_id is not null then b.branch_id else a.branch_id end as branch_id,
        case when b.client_id is not null then b.manager_id else a.manager_id end
            as manager_id,
        coalesce(a.tier, 'new') as from_tier,
        coalesce(b.tier, 'exited') as to_tier,
        coalesce(a.aum, 0) as aum_from,
        coalesce(b.aum, 0) as aum_to
    from month_a as a
    full outer join month_b as b on a.client_id = b.client_id
),

listed as materialized (
    select *
    from moves
    where ($from_tier is null or from_tier = $from_tier)
      and ($to_tier is null or to_tier = $to_tier)
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows,
        sum(aum_to) as list_aum
    from listed
),

page as (
    select p.*, t.*, row_number() over (order by aum_to desc, client_id) as row_no
    from (
        select *
        from listed
        order by aum_to desc, client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        client_id,
        branch_id,
        manager_id,
        from_tier,
        to_tier,
        aum_from,
        aum_to,
        list_rows,
        list_aum
    from page
    order by row_no
)

select * from final
