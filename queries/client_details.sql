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
with details as (
    select client_id, name, phone, id_number, segment, open_date, manager_id
    from clients
    where $client_id is null
       or list_contains($client_id, client_id)
),

final as (
    select * from details
    order by client_id
)

select * from final
