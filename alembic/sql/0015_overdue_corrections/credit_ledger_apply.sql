-- 0005's, with the lines marked 0015 (oldest_unpaid_at under corrections).
-- Applies a ledger entry to the customer's cached balance.  Locking the customer
-- row (by the UPDATE, or the SELECT ... FOR UPDATE) orders the entries of one
-- customer, so they are numbered and timed in order.
CREATE OR REPLACE FUNCTION credit_ledger_apply() RETURNS trigger
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

    -- A debit (a charge, or a payment reversed) to a customer who already owes
    -- keeps the oldest unpaid charge, and everything else it changes follows from
    -- the row itself: one statement locks the row, applies the entry and returns
    -- the new totals.  (If it has to wait for the row, it evaluates all of this
    -- again on the newest version.)  Into c, not NEW: finding no row would set
    -- the targets to NULL.
    IF NEW.amount > 0 THEN
        UPDATE customers
           SET balance = balance + NEW.amount,
               charged_total = charged_total + NEW.amount,
               last_entry_at = greatest(NEW.created_at, last_entry_at)
         WHERE business_id = NEW.business_id AND id = NEW.customer_id AND balance > 0
        RETURNING * INTO c;
        IF FOUND THEN
            NEW.created_at := c.last_entry_at;
            NEW.balance_after := c.balance;
            NEW.charged_total := c.charged_total;
            NEW.credited_total := c.credited_total;
            RETURN NEW;
        END IF;
    END IF;

    -- Any other entry: lock the row first, so that the FIFO query below, a
    -- statement of its own, sees every entry committed before the lock.
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
    ELSIF NEW.kind IN ('reversal', 'return') THEN                         -- 0015
        oldest := c.oldest_unpaid_at;  -- credit_ledger_correct() sets it -- 0015
    ELSIF c.corrected_at IS NOT NULL THEN                                 -- 0015
        -- Running totals do not see corrections: the first debit that this   0015
        -- credit leaves partly unsettled, from what was unsettled before it. 0015
        SELECT u.made_at INTO oldest FROM (                               -- 0015
            SELECT d.made_at, d.charged_total,                            -- 0015
                   sum(d.unsettled) OVER (ORDER BY d.charged_total) AS through -- 0015
              FROM unsettled_debits(c.business_id, c.id, 'infinity') d    -- 0015
        ) u WHERE u.through > -NEW.amount ORDER BY u.charged_total LIMIT 1; -- 0015
    ELSE
        SELECT l.created_at INTO oldest FROM credit_ledger l
         WHERE l.business_id = c.business_id AND l.customer_id = c.id
           AND l.amount > 0 AND l.charged_total > NEW.credited_total
         ORDER BY l.charged_total LIMIT 1;
    END IF;
    -- An UPDATE that names oldest_unpaid_at recomputes the generated column
    -- own_terms_due_at; most payments leave it alone, and so does this.
    IF oldest IS NOT DISTINCT FROM c.oldest_unpaid_at THEN
        UPDATE customers
           SET balance = NEW.balance_after,
               charged_total = NEW.charged_total,
               credited_total = NEW.credited_total,
               last_entry_at = NEW.created_at
         WHERE business_id = NEW.business_id AND id = NEW.customer_id;
    ELSE
        UPDATE customers
           SET balance = NEW.balance_after,
               charged_total = NEW.charged_total,
               credited_total = NEW.credited_total,
               oldest_unpaid_at = oldest,
               last_entry_at = NEW.created_at
         WHERE business_id = NEW.business_id AND id = NEW.customer_id;
    END IF;
    RETURN NEW;
END $$;
