-- 0022's, with the line marked 0023: the DELETE reads owed_changes by a plain index
-- scan.  A bitmap scan leaves the index entries of rows an earlier fold deleted in
-- place, so until VACUUM came every fold read all of them again (on a copy of the
-- bench's shop, 57,565 entries for 245 rows: 3.2 ms); an index scan marks them dead
-- as it passes, and the next fold skips them (0.5 ms).  Autovacuum would clear them too,
-- but a sale that folds holds its products' locks, so it must not depend on it.
-- Adds a business's owed_changes into owed_summaries, by the slot and by the UTC
-- day, and deletes them: readers add up both tables, so what they see is the same
-- before and after.  Only one transaction folds a business at a time (another
-- skips: its rows wait for the next fold); a change committed after this
-- statement's snapshot is not deleted, and is folded next time.  Summary rows
-- that come to zero are deleted.
CREATE OR REPLACE FUNCTION fold_owed_changes(p_business_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
SET enable_bitmapscan = off AS $$  -- 0023
DECLARE
    zeroed owed_summaries[];
BEGIN
    IF p_business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The business's own key, negated: purchase() holds its id (bigint keys) and
    -- (id, product) pairs (two-integer keys, another key space).
    IF NOT pg_try_advisory_xact_lock(-p_business_id) THEN
        RETURN;
    END IF;
    WITH gone AS (
        DELETE FROM owed_changes WHERE business_id = p_business_id RETURNING *
    ),
    summed AS (
        SELECT g.terms_days, s.span_minutes,
               date_bin(make_interval(mins => s.span_minutes), g.made_slot,
                        '2000-01-01 00:00:00+00') AS made_from,
               CAST(sum(g.unsettled) AS bigint) AS unsettled,
               CAST(sum(g.owing) AS integer) AS owing
          FROM gone g CROSS JOIN (VALUES (15), (1440)) AS s (span_minutes)
         GROUP BY 1, 2, 3
    ),
    added AS (
        INSERT INTO owed_summaries AS o
               (business_id, terms_days, span_minutes, made_from, unsettled, owing)
        SELECT p_business_id, terms_days, span_minutes, made_from, unsettled, owing FROM summed
         WHERE unsettled <> 0 OR owing <> 0
            ON CONFLICT (business_id, span_minutes, terms_days, made_from)
            DO UPDATE SET unsettled = o.unsettled + EXCLUDED.unsettled,
                          owing = o.owing + EXCLUDED.owing
        RETURNING o.*
    )
    SELECT array_agg(added) INTO zeroed FROM added WHERE unsettled = 0 AND owing = 0;
    DELETE FROM owed_summaries o
     USING unnest(zeroed) AS z
     WHERE o.business_id = p_business_id AND o.span_minutes = z.span_minutes
       AND o.terms_days IS NOT DISTINCT FROM z.terms_days AND o.made_from = z.made_from
       AND o.unsettled = 0 AND o.owing = 0;
END $$;
