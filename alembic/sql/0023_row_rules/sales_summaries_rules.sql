-- The 2 rules every row of sales_summaries must pass, in place of its 2 CHECK constraints:
-- the table's one CHECK, sales_summaries_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION sales_summaries_rules(
    slot timestamp with time zone,
    stripe smallint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (date_bin('00:15:00'::interval, slot, '2000-01-01 00:00:00+00'::timestamp with time zone) = slot) THEN
        broken := 'sales_summaries_slot_check';
    ELSIF NOT ((stripe >= 0) AND (stripe <= 15)) THEN
        broken := 'sales_summaries_stripe_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "sales_summaries" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'sales_summaries';
END $$;
