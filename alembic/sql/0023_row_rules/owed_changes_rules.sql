-- The 1 rules every row of owed_changes must pass, in place of its 1 CHECK constraints:
-- the table's one CHECK, owed_changes_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION owed_changes_rules(
    made_slot timestamp with time zone
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (date_bin('00:15:00'::interval, made_slot, '2000-01-01 00:00:00+00'::timestamp with time zone) = made_slot) THEN
        broken := 'owed_changes_made_slot_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "owed_changes" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'owed_changes';
END $$;
