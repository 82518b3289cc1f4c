-- Applies a stock movement to the product's cached stock; the CHECK on products
-- refuses any movement that would take stock below zero.
CREATE FUNCTION stock_movements_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- SECURITY DEFINER: refuse a row of another tenant before touching anything,
    -- so the row lock and the error code cannot reveal another tenant's rows.
    IF NEW.business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE products SET stock = stock + NEW.quantity
     WHERE business_id = NEW.business_id AND id = NEW.product_id
    RETURNING stock INTO NEW.stock_after;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % not found', NEW.product_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
