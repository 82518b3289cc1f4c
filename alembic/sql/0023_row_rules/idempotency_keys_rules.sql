-- The 1 rules every row of idempotency_keys must pass, in place of its 1 CHECK constraints:
-- the table's one CHECK, idempotency_keys_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION idempotency_keys_rules(
    key text
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT ((length(key) >= 1) AND (length(key) <= 200)) THEN
        broken := 'idempotency_keys_key_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "idempotency_keys" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'idempotency_keys';
END $$;
