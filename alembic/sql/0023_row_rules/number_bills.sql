-- 0014's, with the line marked 0023: the queue is read by a plain index scan, for
-- the reason of fold_owed_changes() (0023).  Every sale queues a row and the next
-- numbering deletes it, so until VACUUM came a bitmap scan read the entry of every
-- sale numbered before, under the numbering lock (on a copy of the bench's shop,
-- 53,344 entries for an empty queue: 2.5 ms a call; by index scan, 0.3 ms).
-- Bill numbers for the committed sales of a business still waiting for one, and the
-- number of order p_order_id (NULL: only number what waits, answer NULL).
--
-- Every waiting order is numbered, oldest id first, under one advisory lock per
-- business (the two-key form with -1: product keys are never negative), so the
-- numbers of a (business, year) are 1, 2, 3... in the order they are given, each
-- once.  Only committed sales are queued where this can see them, and a call that
-- rolls back numbers nothing, so the series has no gap.  A call that finds its
-- order numbered answers at once, without the lock; one that waited for the lock
-- usually finds its order numbered by the call before it.
CREATE OR REPLACE FUNCTION number_bills(p_business_id bigint, p_order_id bigint)
RETURNS text LANGUAGE plpgsql SECURITY INVOKER
SET plan_cache_mode = force_generic_plan
SET enable_bitmapscan = off AS $$  -- 0023
DECLARE
    v_number text;
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    SELECT b.number INTO v_number FROM bill_numbers b
     WHERE b.business_id = p_business_id AND b.order_id = p_order_id;
    IF FOUND THEN
        RETURN v_number;
    END IF;

    PERFORM pg_advisory_xact_lock((p_business_id % 2147483647)::integer, -1);
    -- A new statement, a new snapshot: the numbers given by the call that held the
    -- lock before are visible now.
    WITH taken AS (
        DELETE FROM bills_to_number q WHERE q.business_id = p_business_id
        RETURNING q.order_id, q.year
    ), ranked AS (
        SELECT t.order_id, t.year,
               row_number() OVER (PARTITION BY t.year ORDER BY t.order_id) AS rank,
               count(*) OVER (PARTITION BY t.year) AS taking
          FROM taken t
    ), counted AS (
        INSERT INTO bill_counters AS c (business_id, year, last)
        SELECT p_business_id, r.year, max(r.taking) FROM ranked r GROUP BY r.year
        ON CONFLICT (business_id, year) DO UPDATE SET last = c.last + excluded.last
        RETURNING c.year, c.last
    )
    INSERT INTO bill_numbers (business_id, order_id, number)
    SELECT p_business_id, r.order_id,
           format('BILL-%s-%s', r.year, lpad(s.seq::text, greatest(6, length(s.seq::text)), '0'))
      FROM ranked r
      JOIN counted c ON c.year = r.year
     CROSS JOIN LATERAL (SELECT c.last - r.taking + r.rank AS seq) s;

    SELECT b.number INTO v_number FROM bill_numbers b
     WHERE b.business_id = p_business_id AND b.order_id = p_order_id;
    RETURN v_number;
END $$;
