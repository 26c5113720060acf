-- Purpose: How deep reactivations went in a period: for each of the five signals of DOMAIN.md
--   "Dormant client reactivation" (trading resumed, volume, product types, frequency, fee
--   contribution), the share of the reactivated clients showing it against their own months
--   before they went quiet. Definitions as in reactivated_clients: reactivated in R = dormant
--   in R-1 and present in R with txn_count > 0; before = the client's present rows in S-3 ..
--   S-1 (S: first month of the quiet spell that ends in R-1), after = its present rows in R ..
--   R+2; a signal is on when the after average is above the before average; trading resumed
--   is on for every reactivation (the reactivations table, worked out at load).
-- Grain: five rows, one per signal, in the order trading, volume, products, frequency, fees
--   (zeros when the period has no reactivation).
-- Parameters:
--   from_month       month, required   First month R of the period, YYYY-MM.
--   to_month         month, required   Last month R of the period, YYYY-MM.
--   branch_id        textlist, optional  Branches, by the client's branch in R-1 (where it was
--                    dormant); every branch when empty.
-- Columns:
--   signal         trading, volume, products, frequency or fees.
--   reactivated    Reactivations in the period.
--   compared       Of them, those the signal can be judged on: all for trading, else those
--                  with at least one row before the spell.
--   signal_on      Of those, showing the signal.
--   signal_share   signal_on / compared; empty when compared is 0.
--   before_avg     Mean over the compared of their before average of the signal's measure
--                  (txn_count, turnover RMB, products_held, txn_count, fee_income RMB; empty for
--                  trading).
--   after_avg      The same for the after average.
with signals as (
    select
        *,
        coalesce(turnover_after > turnover_before, false) as volume_up,
        coalesce(products_after > products_before, false) as products_up,
        coalesce(txn_after > txn_before, false) as frequency_up,
        coalesce(fee_after > fee_before, false) as fees_up
    from reactivations
    where month between $from_month and $to_month
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

names as (
    select 'trading' as signal, 1 as signal_order
    union all select 'volume', 2
    union all select 'products', 3
    union all select 'frequency', 4
    union all select 'fees', 5
),

per_signal as (
    select 'trading' as signal, count(*) as compared,
           cast(count(*) as bigint) as signal_on,
           cast(null as double) as before_avg, cast(null as double) as after_avg
    from signals
    union all
    select 'volume', count(*), cast(sum(case when volume_up then 1 else 0 end) as bigint),
           avg(turnover_before), avg(turnover_after)
    from signals where months_before > 0
    union all
    select 'products', count(*), cast(sum(case when products_up then 1 else 0 end) as bigint),
           avg(products_before), avg(products_after)
    from signals where months_before > 0
    union all
    select 'frequency', count(*), cast(sum(case when frequency_up then 1 else 0 end) as bigint),
           avg(txn_before), avg(txn_after)
    from signals where months_before > 0
    union all
    select 'fees', count(*), cast(sum(case when fees_up then 1 else 0 end) as bigint),
           avg(fee_before), avg(fee_after)
    from signals where months_before > 0
),

total as (
    select count(*) as reactivated
    from signals
),

final as (
    select
        n.signal,
        cast(t.reactivated as bigint) as reactivated,
        cast(coalesce(p.compared, 0) as bigint) as compared,
        cast(coalesce(p.signal_on, 0) as bigint) as signal_on,
        case when coalesce(p.compared, 0) = 0 then null
             else cast(p.signal_on as double) / p.compared end as signal_share,
        p.before_avg,
        p.after_avg
    from names as n
    cross join total as t
    left join per_signal as p on p.signal = n.signal
    order by n.signal_order
)

select * from final
