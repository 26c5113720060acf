-- Purpose: What a client list shows of each client from the clients file (name, phone, ID
--   number, segment, current manager). The runner adds these to the rows of a query whose
--   header has a `Looked up:` line, after that query ran, by client_id: a page of 1,000 rows
--   then reads 1,000 clients through the clients index instead of scanning millions.
-- Grain: one row per client in the clients file (those given, when given), by client_id.
-- Parameters:
--   client_id   textlist, optional  These clients; every client when empty.
-- Columns:
--   client_id   Client.
--   name        Name (personal data).
--   phone       Phone (personal data).
--   id_number   ID number (personal data).
--   segment     Client segment.
--   open_date   Date the client opened their first account.
--   manager_id  The client's manager now (empty: unassigned).
with wanted as (
    -- Up to 2,048 ids (DuckDB's index_scan_max_count) are a list filter, answered from the
    -- clients index: 1,000 of 7M clients in 0.1 s. A longer list (a download's) is a
    -- semi-join on these ids, where a list filter that long would compare every client with
    -- every id. The length is a bound value, so only one of the two is planned.
    select unnest($client_id) as client_id
    where array_length($client_id) > 2048
),

details as (
    select client_id, name, phone, id_number, segment, open_date, manager_id
    from clients
    where $client_id is null
       or (array_length($client_id) <= 2048 and list_contains($client_id, client_id))
       or (array_length($client_id) > 2048 and client_id in (select client_id from wanted))
),

final as (
    select * from details
    order by client_id
)

select * from final
