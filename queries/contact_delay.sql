-- Purpose: How fast retention cases get a first contact (DOMAIN.md "Retention": how fast):
--   cases opened in the period by days from opened_on to first_contact_on.
-- Grain: eight rows, always, in bucket order (zero when a bucket is empty).
-- Parameters:
--   from_date  date, optional    First opened_on day counted (inclusive); open-ended when empty.
--   to_date    date, optional    Last opened_on day counted (inclusive); open-ended when empty.
--   branch_id  textlist, optional  Branches of the case; every branch when empty.
-- Columns:
--   bucket        Days to first contact: 0, 1, 2, 3, 4-7, 8-14, 15+, or none (no contact
--                 recorded). A contact dated before the opening (a data error) counts as 0.
--   bucket_order  1 to 8, the bucket order.
--   cases         Cases opened in the period in the bucket.
with buckets as (
    select '0' as bucket, 1 as bucket_order
    union all select '1', 2
    union all select '2', 3
    union all select '3', 4
    union all select '4-7', 5
    union all select '8-14', 6
    union all select '15+', 7
    union all select 'none', 8
),

opened as (
    select date_diff('day', opened_on, first_contact_on) as days
    from retention_cases
    where ($from_date is null or opened_on >= $from_date)
      and ($to_date is null or opened_on <= $to_date)
      and ($branch_id is null or list_contains($branch_id, branch_id))
),

bucketed as (
    select
        case when days is null then 'none'
             when days <= 0 then '0'
             when days <= 3 then cast(days as varchar)
             when days <= 7 then '4-7'
             when days <= 14 then '8-14'
             else '15+'
        end as bucket
    from opened
),

counts as (
    select bucket, count(*) as cases
    from bucketed
    group by bucket
),

final as (
    select b.bucket, b.bucket_order, coalesce(c.cases, 0) as cases
    from buckets as b
    left join counts as c on c.bucket = b.bucket
    order by b.bucket_order
)

select * from final
