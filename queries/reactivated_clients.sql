-- Purpose: The clients reactivated in a period and how deep each reactivation went, on the five
--   signals of DOMAIN.md "Dormant client reactivation": trading resumed, volume, product
--   types, frequency and fee contribution, each against the client's own months before it went
--   quiet. Reactivated in R: dormant in R-1 (as in dormancy_trend) and
--   present in R with txn_count > 0. The quiet spell: the unbroken run of months up to R-1 in
--   which the client was present without a positive txn_count (or flagged dormant); it starts
--   in month S. Before: the client's present rows in S-3 .. S-1 (the three months before it
--   went quiet; months without a row are skipped). After: its present rows in R .. R+2 (fewer
--   near the end of the data). Each measure is averaged over the rows of each side; a signal
--   is on when the after average is above the before average (trading resumed: txn_count > 0
--   in R, true for every reactivation). With no row before S the four comparisons are off.
--   Reactivations and their averages are worked out at load (the reactivations table,
--   tierflow/dormancy.py).
-- Grain: one row per reactivation (client and month R) with R in the period, by R, then depth
--   descending, then AUM descending, then client_id.
-- Parameters:
--   from_month  month, required   First month R of the period, YYYY-MM.
--   to_month    month, required   Last month R of the period, YYYY-MM.
--   branch_id   textlist, optional  Branches, by the client's branch in R-1 (where it was
--               dormant); every branch when empty.
--   page_rows   int, optional     Only the first page_rows rows (the page shows a slice of a
--               list that may hold hundreds of thousands); every row when empty.
-- Looked up: name
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
--   list_rows          Reactivations matching the filters, all of them (the same on every row).
with chosen as (
    select *
    from reactivations
    where month between $from_month and $to_month
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

signals as (
    select
        *,
        true as trading_resumed,
        coalesce(turnover_after > turnover_before, false) as volume_up,
        coalesce(products_after > products_before, false) as products_up,
        coalesce(txn_after > txn_before, false) as frequency_up,
        coalesce(fee_after > fee_before, false) as fees_up
    from chosen
),

deep as materialized (
    select
        *,
        1 + (case when volume_up then 1 else 0 end) + (case when products_up then 1 else 0 end)
          + (case when frequency_up then 1 else 0 end) + (case when fees_up then 1 else 0 end)
            as depth
    from signals
),

-- the list's size, and its first page in the list's order: a top-N, not a sort of the
-- whole list; names are joined to the page only
totals as (
    select
        count(*) as list_rows
    from deep
),

page as (
    select
        p.*,
        t.*,
        row_number() over (order by month_index, depth desc, aum desc, client_id)
            as row_no
    from (
        select *
        from deep
        order by month_index, depth desc, aum desc, client_id
        limit coalesce($page_rows, 2147483647)
    ) as p
    cross join totals as t
),

final as (
    select
        g.client_id,
        g.branch_id,
        b.branch_name,
        g.month as reactivated_month,
        g.quiet_since,
        g.aum,
        cast(g.months_before as bigint) as months_before,
        cast(g.months_after as bigint) as months_after,
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
        g.depth,
        g.list_rows
    from page as g
    left join branches as b on b.branch_id = g.branch_id
    order by g.row_no
)

select * from final
