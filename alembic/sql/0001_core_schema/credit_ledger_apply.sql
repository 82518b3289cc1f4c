-- Applies a ledger entry to the customer's cached balance.  The UPDATE takes the
-- customer row lock, so entries of one customer are numbered and timed in order.
CREATE FUNCTION credit_ledger_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c customers%ROWTYPE;
    oldest timestamptz;
BEGIN
    -- SECURITY DEFINER: refuse a row of another tenant before touching anything,
    -- so the row lock and the error code cannot reveal another tenant's rows.
    IF NEW.business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO c FROM customers
     WHERE business_id = NEW.business_id AND id = NEW.customer_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'customer % not found', NEW.customer_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.created_at := greatest(NEW.created_at, c.last_entry_at);
    NEW.balance_after := c.balance + NEW.amount;
    NEW.charged_total := c.charged_total + greatest(NEW.amount, 0);
    NEW.credited_total := c.credited_total + greatest(-NEW.amount, 0);
    IF NEW.balance_after <= 0 THEN
        oldest := NULL;
    ELSIF NEW.amount > 0 AND c.balance > 0 THEN
        oldest := c.oldest_unpaid_at;
    ELSIF NEW.amount > 0 THEN
        oldest := NEW.created_at;
    ELSE
        SELECT l.created_at INTO oldest FROM credit_ledger l
         WHERE l.business_id = c.business_id AND l.customer_id = c.id
           AND l.amount > 0 AND l.charged_total > NEW.credited_total
         ORDER BY l.charged_total LIMIT 1;
    END IF;
    UPDATE customers
       SET balance = NEW.balance_after,
           charged_total = NEW.charged_total,
           credited_total = NEW.credited_total,
           oldest_unpaid_at = oldest,
           last_entry_at = NEW.created_at
     WHERE business_id = NEW.business_id AND id = NEW.customer_id;
    RETURN NEW;
END $$;
