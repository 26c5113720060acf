-- Purpose: How concentrated AUM is among clients in one month (the Lorenz / Pareto curve behind
--   DOMAIN.md's "二八定律"): present clients ranked by AUM, largest first, cut into 100
--   equal-count buckets; per bucket, the clients and AUM of the top buckets up to it.
--   The row with top_percent = 20 answers "what share of AUM do the top 20% of clients hold".
-- Grain: one row per bucket that has clients, ordered by top_percent. Buckets come from
--   ntile(100) over the ranking (AUM descending, ties by client_id): with N >= 100 clients
--   there are 100 buckets whose sizes differ by at most one (the larger ones first); with
--   N < 100 there are N buckets of one client each, so top_percent runs 1..N and only
--   client_share is the true share. No rows when no client is present. All branches or one
--   read the buckets stored at load (concentration_cube); several branches rank their rows.
-- Parameters:
--   month      month, required   The month, YYYY-MM.
--   branch_id  textlist, optional  Branches, by the client's branch that month (comma-separated on
--                                 the command line); every branch when empty.
-- Columns:
--   top_percent  Bucket number, 1..100 (1 = the wealthiest clients).
--   clients      Clients in buckets 1..top_percent (cumulative).
--   client_share clients / all present clients.
--   aum          AUM of those clients summed (cumulative, RMB).
--   aum_share    aum / the AUM of all present clients; empty when that total is 0.
with stored as (
    -- every branch, or one: the buckets ranked at load (concentration_cube, branch empty for
    -- all branches); the condition depends on the parameters alone, so the path not taken
    -- reads nothing
    select bucket, clients, aum
    from concentration_cube
    where month = $month
      and (($branch_id is null and branch_id is null)
           or (array_length($branch_id) = 1 and list_contains($branch_id, branch_id)))
),

present as (
    -- several branches: their clients ranked here
    select client_id, aum
    from snapshots
    where month = $month
      and present
      and $branch_id is not null
      and array_length($branch_id) > 1
      and list_contains($branch_id, branch_id)
),

ranked as (
    select
        aum,
        -- client_id breaks ties so that the buckets are the same on every run
        ntile(100) over (order by aum desc, client_id) as bucket
    from present
),

buckets as (
    select bucket, clients, aum
    from stored
    union all
    select bucket, count(*) as clients, sum(aum) as aum
    from ranked
    group by bucket
),

cumulative as (
    select
        bucket,
        sum(clients) over (order by bucket rows between unbounded preceding and current row)
            as clients,
        sum(aum) over (order by bucket rows between unbounded preceding and current row)
            as aum,
        sum(clients) over () as total_clients,
        sum(aum) over () as total_aum
    from buckets
),

final as (
    select
        bucket as top_percent,
        -- bigint: an integer sum is int128 in DuckDB and bigint on Spark
        cast(clients as bigint) as clients,
        case when total_clients = 0 then null
             else cast(clients as double) / cast(total_clients as double)
        end as client_share,
        aum,
        case when total_aum = 0 then null
             else cast(aum as double) / cast(total_aum as double)
        end as aum_share
    from cumulative
    order by top_percent
)

select * from final
