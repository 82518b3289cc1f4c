-- The 1 rules every row of bills_to_number must pass, in place of its 1 CHECK constraints:
-- the table's one CHECK, bills_to_number_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION bills_to_number_rules(
    year integer
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT ((year >= 1) AND (year <= 9999)) THEN
        broken := 'bills_to_number_year_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "bills_to_number" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'bills_to_number';
END $$;
