-- The 10 rules every row of stock_movements must pass, in place of its 10 CHECK constraints:
-- the table's one CHECK, stock_movements_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION stock_movements_rules(
    kind text,
    quantity bigint,
    stock_after bigint,
    order_id bigint,
    note text,
    reason text,
    created_by_user_id bigint,
    created_by_key_id bigint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT ((kind = 'adjustment'::text) = (reason IS NOT NULL)) THEN
        broken := 'stock_movements_adjustment_reason';
    ELSIF NOT ((kind <> 'sale'::text) OR ((quantity < 0) AND (order_id IS NOT NULL))) THEN
        broken := 'stock_movements_check';
    ELSIF NOT ((kind <> ALL (ARRAY['initial'::text, 'restock'::text])) OR (quantity > 0)) THEN
        broken := 'stock_movements_check1';
    ELSIF NOT ((created_by_user_id IS NULL) OR (created_by_key_id IS NULL)) THEN
        broken := 'stock_movements_created_by_one';
    ELSIF NOT (kind = ANY (ARRAY['initial'::text, 'restock'::text, 'sale'::text, 'reversal'::text, 'return'::text, 'adjustment'::text])) THEN
        broken := 'stock_movements_kind_check';
    ELSIF NOT (length(note) <= 500) THEN
        broken := 'stock_movements_note_check';
    ELSIF NOT (quantity <> 0) THEN
        broken := 'stock_movements_quantity_check';
    ELSIF NOT (reason = ANY (ARRAY['DAMAGE'::text, 'LOSS'::text, 'COUNT'::text, 'OTHER'::text])) THEN
        broken := 'stock_movements_reason_check';
    ELSIF NOT ((kind <> 'return'::text) OR ((quantity > 0) AND (order_id IS NOT NULL))) THEN
        broken := 'stock_movements_return_of_an_order';
    ELSIF NOT (stock_after >= 0) THEN
        broken := 'stock_movements_stock_after_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "stock_movements" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'stock_movements';
END $$;
