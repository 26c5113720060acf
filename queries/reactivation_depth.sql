-- Purpose: How deep reactivations went in a period: for each of the five signals of DOMAIN.md
--   "Dormant client reactivation" (trading resumed, volume, product types, frequency, fee
--   contribution), the share of the reactivated clients showing it against their own months
--   before they went quiet. Definitions as in reactivated_clients: reactivated in R = dormant
--   in R-1 and present in R with txn_count > 0; before = the client's present rows in S-3 ..
--   S-1 (S: first month of the quiet spell that ends in R-1), after = its present rows in R ..
--   R+2; a signal is on when the after average is above the before average; trading resumed
--   is on for every reactivation.
-- Grain: five rows, one per signal, in the order trading, volume, products, frequency, fees
--   (zeros when the period has no reactivation).
-- Parameters:
--   from_month       month, required   First month R of the period, YYYY-MM.
--   to_month         month, required   Last month R of the period, YYYY-MM.
--   branch_id        textlist, optional  Branches, by the client's branch in R-1 (where it was
--                    dormant); every branch when empty.
--   dormancy_months  int, setting dormancy_months   Months without a transaction (the month
--                    itself included) that make a client dormant.
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
with months as (
    select distinct month, month_index
    from snapshots
),

-- The rows that may be part of a quiet spell (every other present row has txn_count > 0).
quiet_rows as (
    select
        client_id, month_index, branch_id, next_tier_rank, next_aum,
        status = 'dormant' as flagged,
        txn_count = 0 as no_txn,
        coalesce(txn_count > 0, false) as has_txn
    from snapshots
    where present
      and (txn_count = 0 or txn_count is null or status = 'dormant')
),

-- One sort of the quiet rows: the dormancy rule, the next quiet row, and a key shared by each
-- unbroken run of months (month_index minus the row's position).
spells as (
    select
        client_id, month_index, branch_id, next_tier_rank, next_aum, flagged,
        sum(case when no_txn then 1 else 0 end) over (
            partition by client_id order by month_index
            range between $dormancy_months - 1 preceding and current row) as quiet_months,
        lead(month_index) over (partition by client_id order by month_index) as next_quiet_index,
        lead(has_txn) over (partition by client_id order by month_index) as next_quiet_has_txn,
        month_index - row_number() over (partition by client_id order by month_index) as run_key
    from quiet_rows
),

period as (
    select min(month_index) as first_index, max(month_index) as last_index
    from months
    where month between $from_month and $to_month
),

-- Dormant in R-1 and reactivated in R, with R in the period.
events as (
    select
        s.client_id, s.month_index + 1 as reactivated_index, s.branch_id, s.next_aum as aum,
        s.run_key
    from spells as s
    join period as p on s.month_index + 1 between p.first_index and p.last_index
    where (s.flagged or s.quiet_months = $dormancy_months)
      and s.next_tier_rank is not null
      and (s.next_quiet_index is null or s.next_quiet_index > s.month_index + 1
           or s.next_quiet_has_txn)
      and ($branch_id is null or list_contains($branch_id, s.branch_id))
),

spell_starts as (
    select
        e.client_id, e.reactivated_index, e.branch_id, e.aum,
        min(s.month_index) as quiet_start
    from events as e
    join spells as s on s.client_id = e.client_id and s.run_key = e.run_key
    group by e.client_id, e.reactivated_index, e.branch_id, e.aum
),

-- The client's present rows in the three months before the spell and the first three from R.
sides as (
    select
        st.client_id,
        st.reactivated_index,
        st.branch_id,
        st.aum,
        st.quiet_start,
        case when s.month_index < st.quiet_start then 'before' else 'after' end as side,
        s.txn_count, s.turnover, s.products_held, s.fee_income
    from spell_starts as st
    join snapshots as s on s.client_id = st.client_id
    where s.present
      and (s.month_index between st.quiet_start - 3 and st.quiet_start - 1
           or s.month_index between st.reactivated_index and st.reactivated_index + 2)
),

averages as (
    select
        client_id,
        reactivated_index,
        branch_id,
        aum,
        quiet_start,
        cast(sum(case when side = 'before' then 1 else 0 end) as bigint) as months_before,
        cast(sum(case when side = 'after' then 1 else 0 end) as bigint) as months_after,
        avg(case when side = 'before' then cast(txn_count as double) end) as txn_before,
        avg(case when side = 'after' then cast(txn_count as double) end) as txn_after,
        avg(case when side = 'before' then cast(turnover as double) end) as turnover_before,
        avg(case when side = 'after' then cast(turnover as double) end) as turnover_after,
        avg(case when side = 'before' then cast(products_held as double) end) as products_before,
        avg(case when side = 'after' then cast(products_held as double) end) as products_after,
        avg(case when side = 'before' then cast(fee_income as double) end) as fee_before,
        avg(case when side = 'after' then cast(fee_income as double) end) as fee_after
    from sides
    group by client_id, reactivated_index, branch_id, aum, quiet_start
),

signals as (
    select
        a.*,
        true as trading_resumed,
        coalesce(a.turnover_after > a.turnover_before, false) as volume_up,
        coalesce(a.products_after > a.products_before, false) as products_up,
        coalesce(a.txn_after > a.txn_before, false) as frequency_up,
        coalesce(a.fee_after > a.fee_before, false) as fees_up
    from averages as a
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
