-- The 9 rules every row of orders must pass, in place of its 9 CHECK constraints:
-- the table's one CHECK, orders_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION orders_rules(
    customer_id bigint,
    total bigint,
    note text,
    discount_total bigint,
    bill_discount bigint,
    tax_total bigint,
    paid_amount bigint,
    created_by_user_id bigint,
    created_by_key_id bigint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (bill_discount >= 0) THEN
        broken := 'orders_bill_discount_check';
    ELSIF NOT ((created_by_user_id IS NULL) OR (created_by_key_id IS NULL)) THEN
        broken := 'orders_created_by_one';
    ELSIF NOT (discount_total >= 0) THEN
        broken := 'orders_discount_total_check';
    ELSIF NOT (length(note) <= 500) THEN
        broken := 'orders_note_check';
    ELSIF NOT (paid_amount >= 0) THEN
        broken := 'orders_paid_amount_check';
    ELSIF NOT (paid_amount <= total) THEN
        broken := 'orders_paid_within_total';
    ELSIF NOT (tax_total >= 0) THEN
        broken := 'orders_tax_total_check';
    ELSIF NOT (total >= 0) THEN
        broken := 'orders_total_check';
    ELSIF NOT ((customer_id IS NOT NULL) OR (paid_amount = total)) THEN
        broken := 'orders_walk_in_paid_in_full';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "orders" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'orders';
END $$;
