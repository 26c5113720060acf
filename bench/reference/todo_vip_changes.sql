-- Purpose: VIP upgrades and downgrades in a period of months (DOMAIN.md "Event-driven
--   service": VIP upgrade, VIP downgrade, same quarter; the to-do list of this quarter). A VIP
--   upgrade in month M: present in M-1 below the VIP tier and in M at VIP tier or above; a VIP
--   downgrade: present in M-1 at VIP tier or above and in M below it (a client that closes or
--   leaves is churn, on the Churn page, not a downgrade; a new client is not an upgrade). Moves
--   within the VIP tiers, or within mass, are not listed. The period is the months whose first
--   day lies from from_date to to_date (this quarter: the page passes the quarter's first and
--   last day). Branch and manager are the client's current ones (the clients file).
-- Grain: one row per client and month with such a move, by month, then change (upgrade first),
--   then AUM descending, then client_id.
-- Parameters:
--   from_date   date, required   First day of the period.
--   to_date     date, required   Last day of the period.
--   branch_id   textlist, optional  Branches (the client's home branch); every branch when empty.
--   manager_id  textlist, optional  Managers (the client's manager); every manager when empty.
--   change      text, optional   upgrade or downgrade: only those moves; both when empty.
--   vip_rank    int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
--   page_rows   int, optional     Only the first page_rows rows (the page shows a slice of a
--               list that may hold a hundred thousand rows at a bank); every row when empty.
-- Looked up: name, phone
-- Columns:
--   month         The month M of the move, YYYY-MM.
--   change        upgrade or downgrade.
--   client_id     Client.
--   name          Name (personal data).
--   phone         Phone (personal data).
--   branch_id     The client's branch.
--   branch_name   Its name.
--   manager_id    The client's manager (empty: unassigned).
--   manager_name  Their name.
--   from_tier     Tier in M-1.
--   to_tier       Tier in M.
--   aum_prev      AUM in M-1, RMB.
--   aum           AUM in M, RMB.
--   list_rows     Rows on the list, all of them (the same on every row).
with tiers_by_rank as (
    select tier, tier_rank
    from tiers
),

-- prev_tier_rank / prev_aum: the client's tier and AUM in M-1 (empty when not present then);
-- materialized: the movers' semi-join and the list both read it, and inlined twice the
-- months' rows would be scanned twice
moves as materialized (
    select
        s.month,
        s.month_index,
        s.client_id,
        s.prev_tier_rank,
        s.tier,
        s.prev_aum,
        s.aum,
        case when s.tier_rank >= $vip_rank then 'upgrade' else 'downgrade' end as change
    from snapshots as s
    where s.present
      and s.prev_tier_rank is not null
      and s.month_index between year($from_date) * 12 + month($from_date) - 1
                            and year($to_date) * 12 + month($to_date) - 1
      and ((coalesce($change, 'upgrade') = 'upgrade'
            and s.prev_tier_rank < $vip_rank and s.tier_rank >= $vip_rank)
           or (coalesce($change, 'downgrade') = 'downgrade'
               and s.prev_tier_rank >= $vip_rank and s.tier_rank < $vip_rank))
),

-- the movers' current branch and manager, of the branches and managers asked for (a semi-join:
-- the moves, thousands, are hashed, not the millions of clients)
movers as (
    select client_id, branch_id, manager_id
    from clients
    where client_id in (select client_id from moves)
      and ($branch_id is null or list_contains($branch_id, branch_id))
      and ($manager_id is null or list_contains($manager_id, manager_id))
),

listed as materialized (
    select v.*, c.branch_id, c.manager_id
    from moves as v
    join movers as c on c.client_id = v.client_id
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows
    from listed
),

page as (
    select
        p.*,
        t.*,
        row_number() over (order by month_index,
                                    case when change = 'upgrade' then 0 else 1 end,
                                    aum desc, client_id) as row_no
    from (
        select *
        from listed
        order by month_index, case when change = 'upgrade' then 0 else 1 end, aum desc,
                 client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        g.month,
        g.change,
        g.client_id,
        g.branch_id,
        b.branch_name,
        g.manager_id,
        m.manager_name,
        t.tier as from_tier,
        g.tier as to_tier,
        g.prev_aum as aum_prev,
        g.aum,
        g.list_rows
    from page as g
    left join tiers_by_rank as t on t.tier_rank = g.prev_tier_rank
    left join branches as b on b.branch_id = g.branch_id
    left join managers as m on m.manager_id = g.manager_id
    order by g.row_no
)

select * from final
