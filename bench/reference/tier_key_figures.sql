-- Purpose: Each tier's key figure in one month (DOMAIN.md "Tiers": high-end clients managed for
--   AUM, mid-tier for cross-selling, mass for activity): clients, AUM, average AUM, products per
--   client, cross-sell rate, active rate and transactions per client.
-- Grain: one row per tier, all five tiers in rank order; an empty tier has 0 clients and AUM
--   and empty averages and rates.
-- Parameters:
--   month      month, required   The month, YYYY-MM.
--   branch_id  textlist, optional  Branches, by the client's branch that month (comma-separated on
--                                 the command line); every branch when empty.
-- Columns:
--   tier                 Tier code: mass, gold, platinum, diamond, private.
--   clients              Clients present in the month in the tier.
--   aum                  Their AUM summed (RMB, the month-end figure even when tiers use aum_avg).
--   avg_aum              aum / clients, rounded to the cent (RMB).
--   products_per_client  Average products_held over the tier's clients whose products_held is
--                        delivered; empty when none is.
--   cross_sell_rate      Share of those same clients (products_held delivered) holding 3 or more
--                        product types; empty when none is delivered.
--   active_rate          Share of the tier's clients with txn_count > 0 (a missing count is 0).
--   txn_per_client       Average txn_count over the tier's clients (a missing count is 0).
with present as (
    select tier, aum, products_held, coalesce(txn_count, 0) as txn_count
    from snapshots
    where month = $month
      and present
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

per_tier as (
    select
        t.tier,
        t.tier_rank,
        count(p.tier) as clients,
        coalesce(sum(p.aum), 0) as aum,
        count(p.products_held) as with_products,
        cast(coalesce(sum(p.products_held), 0) as bigint) as products,
        cast(coalesce(sum(case when p.products_held >= 3 then 1 else 0 end), 0) as bigint)
            as cross_sold,
        cast(coalesce(sum(case when p.txn_count > 0 then 1 else 0 end), 0) as bigint) as active,
        cast(coalesce(sum(p.txn_count), 0) as bigint) as txns
    from tiers as t
    left join present as p on p.tier = t.tier
    group by t.tier, t.tier_rank
),

final as (
    select
        tier,
        clients,
        aum,
        -- DuckDB divides a decimal in double; the cast brings the average back to the cent
        case when clients = 0 then null
             else cast(aum / clients as decimal(18, 2))
        end as avg_aum,
        case when with_products = 0 then null
             else cast(products as double) / with_products
        end as products_per_client,
        case when with_products = 0 then null
             else cast(cross_sold as double) / with_products
        end as cross_sell_rate,
        case when clients = 0 then null else cast(active as double) / clients end as active_rate,
        case when clients = 0 then null else cast(txns as double) / clients end as txn_per_client
    from per_tier
    order by tier_rank
)

select * from final
