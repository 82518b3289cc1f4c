-- The 5 rules every row of payments must pass, in place of its 5 CHECK constraints:
-- the table's one CHECK, payments_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION payments_rules(
    customer_id bigint,
    amount bigint,
    method text,
    reference text,
    order_id bigint,
    created_by_user_id bigint,
    created_by_key_id bigint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (amount > 0) THEN
        broken := 'payments_amount_check';
    ELSIF NOT ((created_by_user_id IS NULL) OR (created_by_key_id IS NULL)) THEN
        broken := 'payments_created_by_one';
    ELSIF NOT (method = ANY (ARRAY['CASH'::text, 'UPI'::text, 'CARD'::text, 'BANK_TRANSFER'::text, 'CHEQUE'::text, 'OTHER'::text])) THEN
        broken := 'payments_method_check';
    ELSIF NOT ((customer_id IS NOT NULL) OR (order_id IS NOT NULL)) THEN
        broken := 'payments_of_someone';
    ELSIF NOT (length(reference) <= 200) THEN
        broken := 'payments_reference_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "payments" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'payments';
END $$;
