-- Purpose: The clients reactivated in a period and how deep each reactivation went, on the five
--   signals of DOMAIN.md "Dormant client reactivation": trading resumed, volume, product
--   types, frequency and fee contribution, each against the client's own months before it went
--   quiet. Reactivated in R: dormant in R-1 (as in dormancy_trend) and present in R with
--   txn_count > 0. The quiet spell: the unbroken run of months up to R-1 in which the client
--   was present without a positive txn_count (or flagged dormant); it starts in month S.
--   Before: the client's present rows in S-3 .. S-1 (the three months before it went quiet;
--   months without a row are skipped). After: its present rows in R .. R+2 (fewer near the end
--   of the data). Each measure is averaged over the rows of each side; a signal is on when the
--   after average is above the before average (trading resumed: txn_count > 0 in R, true for
--   every reactivation). With no row before S the four comparisons are off.
-- Grain: one row per reactivation (client and month R) with R in the period, by R, then depth
--   descending, then AUM descending, then client_id.
-- Parameters:
--   from_month       month, required   First month R of the period, YYYY-MM.
--   to_month         month, required   Last month R of the period, YYYY-MM.
--   branch_id        textlist, optional  Branches, by the client's branch in R-1 (where it was
--                    dormant); every branch when empty.
--   dormancy_months  int, setting dormancy_months   Months without a transaction (the month
--                    itself included) that make a client dormant.
-- Columns:
--   client_id          Client.
--   name               Name (personal data).
--   branch_id          Branch in R-1.
--   branch_name        Its name.
--   reactivated_month  R, YYYY-MM.
--   quiet_since        S, the first month of the quiet spell, YYYY-MM.
--   aum                AUM in R, RMB.
--   months_before      Rows averaged before (0 to 3; 0: no comparison).
--   months_after       Rows averaged after (1 to 3).
--   txn_before         Average txn_count before.
--   txn_after          Average txn_count after.
--   turnover_before    Average turnover before, RMB.
--   turnover_after     Average turnover after, RMB.
--   products_before    Average products_held before.
--   products_after     Average products_held after.
--   fee_before         Average fee_income before, RMB.
--   fee_after          Average fee_income after, RMB.
--   trading_resumed    Transactions in R (always true).
--   volume_up          turnover_after > turnover_before.
--   products_up        products_after > products_before.
--   frequency_up       txn_after > txn_before.
--   fees_up            fee_after > fee_before.
--   depth              Signals on, 1 to 5.
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

final as (
    select
        g.client_id,
        c.name,
        g.branch_id,
        b.branch_name,
        r.month as reactivated_month,
        q.month as quiet_since,
        g.aum,
        g.months_before,
        g.months_after,
        g.txn_before,
        g.txn_after,
        g.turnover_before,
        g.turnover_after,
        g.products_before,
        g.products_after,
        g.fee_before,
        g.fee_after,
        g.trading_resumed,
        g.volume_up,
        g.products_up,
        g.frequency_up,
        g.fees_up,
        1 + (case when g.volume_up then 1 else 0 end) + (case when g.products_up then 1 else 0 end)
          + (case when g.frequency_up then 1 else 0 end) + (case when g.fees_up then 1 else 0 end)
            as depth
    from signals as g
    join months as r on r.month_index = g.reactivated_index
    join months as q on q.month_index = g.quiet_start
    left join clients as c on c.client_id = g.client_id
    left join branches as b on b.branch_id = g.branch_id
    order by g.reactivated_index, depth desc, g.aum desc, g.client_id
)

select * from final
