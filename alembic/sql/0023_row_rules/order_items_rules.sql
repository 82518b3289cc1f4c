-- The 9 rules every row of order_items must pass, in place of its 9 CHECK constraints:
-- the table's one CHECK, order_items_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION order_items_rules(
    line_no smallint,
    quantity bigint,
    unit_price bigint,
    line_total bigint,
    discount bigint,
    bill_discount bigint,
    tax_rate numeric,
    tax_amount bigint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (bill_discount >= 0) THEN
        broken := 'order_items_bill_discount_check';
    ELSIF NOT (line_total = (quantity * unit_price)) THEN
        broken := 'order_items_check';
    ELSIF NOT (discount >= 0) THEN
        broken := 'order_items_discount_check';
    ELSIF NOT ((discount + bill_discount) <= line_total) THEN
        broken := 'order_items_discounts_within_line';
    ELSIF NOT (line_no > 0) THEN
        broken := 'order_items_line_no_check';
    ELSIF NOT (quantity > 0) THEN
        broken := 'order_items_quantity_check';
    ELSIF NOT (tax_amount >= 0) THEN
        broken := 'order_items_tax_amount_check';
    ELSIF NOT ((tax_rate >= (0)::numeric) AND (tax_rate <= (100)::numeric)) THEN
        broken := 'order_items_tax_rate_check';
    ELSIF NOT (unit_price >= 0) THEN
        broken := 'order_items_unit_price_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "order_items" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'order_items';
END $$;
