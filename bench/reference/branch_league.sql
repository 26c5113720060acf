-- Purpose: The branch league table for one month: size, growth, tier mix, VIP churn and
--   retention success per branch, for executives comparing branches.
-- Grain: one row per branch with at least one client present in the month, by branch_id.
-- Parameters:
--   month      month, required   The month, YYYY-MM.
--   branch_id  textlist, optional  Branches; every branch when empty.
--   vip_rank   int, setting vip_min_rank   Lowest VIP tier rank (mass 0 ... private 4).
-- Columns:
--   branch_id          Branch.
--   branch_name        Its name.
--   clients            Clients present in the month (by the branch of their row).
--   aum                Their AUM, RMB.
--   aum_prev_month     The branch's AUM the month before (empty when that month has no data).
--   aum_year_ago       The branch's AUM twelve months before (empty when no data).
--   growth_mom         aum / aum_prev_month - 1.
--   growth_yoy         aum / aum_year_ago - 1.
--   vip_clients        Present clients at VIP tier.
--   vip_share          vip_clients / clients.
--   mass_clients       Present clients per tier: mass ...
--   gold_clients       ... gold ...
--   platinum_clients   ... platinum ...
--   diamond_clients    ... diamond ...
--   private_clients    ... private.
--   vip_at_risk        VIP clients of the branch the month before (VIP churn base, as
--                      churn_monthly with vip_to_mass).
--   vip_churned        Of them, mass or not present this month.
--   vip_churn_rate     vip_churned / vip_at_risk.
--   closed_cases_12m   Retention cases of the branch closed (retained or lost) in the twelve
--                      months ending with this month, by closed_on.
--   success_rate_12m   Of them, the share retained (as retention_success).
with target as (
    select distinct month_index
    from snapshots
    where month = $month
),

-- the three months the league needs: this one, the one before, and a year before
wanted as (
    select month_index from target
    union all
    select month_index - 1 from target
    union all
    select month_index - 12 from target
),

present as (
    select s.month_index, s.branch_id, s.aum, s.tier, s.tier_rank, s.next_tier_rank
    from snapshots as s
    join wanted as w on w.month_index = s.month_index
    where s.present
      and ($branch_id is null or list_contains($branch_id, s.branch_id))
),

this_month as (
    select
        p.branch_id,
        count(*) as clients,
        sum(p.aum) as aum,
        cast(sum(case when p.tier_rank >= $vip_rank then 1 else 0 end) as bigint) as vip_clients,
        cast(sum(case when p.tier = 'mass' then 1 else 0 end) as bigint) as mass_clients,
        cast(sum(case when p.tier = 'gold' then 1 else 0 end) as bigint) as gold_clients,
        cast(sum(case when p.tier = 'platinum' then 1 else 0 end) as bigint) as platinum_clients,
        cast(sum(case when p.tier = 'diamond' then 1 else 0 end) as bigint) as diamond_clients,
        cast(sum(case when p.tier = 'private' then 1 else 0 end) as bigint) as private_clients
    from present as p
    join target as t on p.month_index = t.month_index
    group by p.branch_id
),

earlier as (
    select
        p.branch_id,
        sum(case when p.month_index = t.month_index - 1 then p.aum end) as aum_prev_month,
        sum(case when p.month_index = t.month_index - 12 then p.aum end) as aum_year_ago
    from present as p
    cross join target as t
    group by p.branch_id
),

-- VIP churn as churn_monthly's vip_to_mass: VIP last month (at last month's branch), mass
-- or not present this month
-- (next_tier_rank is the tier in the following month, empty when not present then)
churn as (
    select
        p.branch_id,
        count(*) as vip_at_risk,
        cast(sum(case when coalesce(p.next_tier_rank, 0) = 0 then 1 else 0 end)
             as bigint) as vip_churned
    from present as p
    join target as t on p.month_index = t.month_index - 1
    where p.tier_rank >= $vip_rank
    group by p.branch_id
),

cases as (
    select
        c.branch_id,
        count(*) as closed_cases_12m,
        cast(sum(case when c.outcome = 'retained' then 1 else 0 end) as bigint) as retained_12m
    from retention_cases as c
    join target as t
        on year(c.closed_on) * 12 + month(c.closed_on) - 1
           between t.month_index - 11 and t.month_index
    where c.outcome in ('retained', 'lost')
    group by c.branch_id
),

final as (
    select
        m.branch_id,
        b.branch_name,
        m.clients,
        m.aum,
        e.aum_prev_month,
        e.aum_year_ago,
        case when coalesce(e.aum_prev_month, 0) = 0 then null
             else cast(m.aum as double) / cast(e.aum_prev_month as double) - 1
        end as growth_mom,
        case when coalesce(e.aum_year_ago, 0) = 0 then null
             else cast(m.aum as double) / cast(e.aum_year_ago as double) - 1
        end as growth_yoy,
        m.vip_clients,
        case when m.clients = 0 then null
             else cast(m.vip_clients as double) / m.clients end as vip_share,
        m.mass_clients,
        m.gold_clients,
        m.platinum_clients,
        m.diamond_clients,
        m.private_clients,
        coalesce(ch.vip_at_risk, 0) as vip_at_risk,
        coalesce(ch.vip_churned, 0) as vip_churned,
        case when coalesce(ch.vip_at_risk, 0) = 0 then null
             else cast(ch.vip_churned as double) / ch.vip_at_risk
        end as vip_churn_rate,
        coalesce(cs.closed_cases_12m, 0) as closed_cases_12m,
        case when coalesce(cs.closed_cases_12m, 0) = 0 then null
             else cast(cs.retained_12m as double) / cs.closed_cases_12m
        end as success_rate_12m
    from this_month as m
    left join branches as b on b.branch_id = m.branch_id
    left join earlier as e on e.branch_id = m.branch_id
    left join churn as ch on ch.branch_id = m.branch_id
    left join cases as cs on cs.branch_id = m.branch_id
    order by m.branch_id
)

select * from final
