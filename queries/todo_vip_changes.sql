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
with tiers_by_rank as (
    select tier, tier_rank
    from tiers
),

-- prev_tier_rank / prev_aum: the client's tier and AUM in M-1 (empty when not present then)
moves as (
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
      and ((s.prev_tier_rank < $vip_rank and s.tier_rank >= $vip_rank)
           or (s.prev_tier_rank >= $vip_rank and s.tier_rank < $vip_rank))
),

final as (
    select
        v.month,
        v.change,
        v.client_id,
        c.name,
        c.phone,
        c.branch_id,
        b.branch_name,
        c.manager_id,
        m.manager_name,
        t.tier as from_tier,
        v.tier as to_tier,
        v.prev_aum as aum_prev,
        v.aum
    from moves as v
    join clients as c on c.client_id = v.client_id
    left join tiers_by_rank as t on t.tier_rank = v.prev_tier_rank
    left join branches as b on b.branch_id = c.branch_id
    left join managers as m on m.manager_id = c.manager_id
    where ($branch_id is null or list_contains($branch_id, c.branch_id))
      and ($manager_id is null or list_contains($manager_id, c.manager_id))
      and ($change is null or v.change = $change)
    order by v.month_index, case when v.change = 'upgrade' then 0 else 1 end, v.aum desc,
             v.client_id
)

select * from final
