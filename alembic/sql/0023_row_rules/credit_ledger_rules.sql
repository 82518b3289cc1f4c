-- The 9 rules every row of credit_ledger must pass, in place of its 9 CHECK constraints:
-- the table's one CHECK, credit_ledger_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION credit_ledger_rules(
    kind text,
    amount bigint,
    balance_after bigint,
    charged_total bigint,
    credited_total bigint,
    order_id bigint,
    payment_id bigint,
    reverses_entry_id bigint,
    adjustment_id bigint,
    return_id bigint,
    created_by_user_id bigint,
    created_by_key_id bigint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT ((kind = 'adjustment'::text) = (adjustment_id IS NOT NULL)) THEN
        broken := 'credit_ledger_adjustment_points';
    ELSIF NOT (amount <> 0) THEN
        broken := 'credit_ledger_amount_check';
    ELSIF NOT (balance_after = (charged_total - credited_total)) THEN
        broken := 'credit_ledger_check';
    ELSIF NOT ((kind <> 'charge'::text) OR ((amount > 0) AND (order_id IS NOT NULL))) THEN
        broken := 'credit_ledger_check1';
    ELSIF NOT ((kind <> 'payment'::text) OR ((amount < 0) AND (payment_id IS NOT NULL))) THEN
        broken := 'credit_ledger_check2';
    ELSIF NOT ((kind <> 'reversal'::text) OR (reverses_entry_id IS NOT NULL)) THEN
        broken := 'credit_ledger_check3';
    ELSIF NOT ((created_by_user_id IS NULL) OR (created_by_key_id IS NULL)) THEN
        broken := 'credit_ledger_created_by_one';
    ELSIF NOT (kind = ANY (ARRAY['charge'::text, 'payment'::text, 'reversal'::text, 'adjustment'::text, 'return'::text])) THEN
        broken := 'credit_ledger_kind_check';
    ELSIF NOT (((kind = 'return'::text) = (return_id IS NOT NULL)) AND ((kind <> 'return'::text) OR (amount < 0))) THEN
        broken := 'credit_ledger_return_points';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "credit_ledger" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'credit_ledger';
END $$;
