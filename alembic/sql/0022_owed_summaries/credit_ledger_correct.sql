-- 0015's, with the lines marked 0022: the customer, taken out of what the
-- business is owed by credit_ledger_apply() before the statement's first
-- correction of theirs, is counted again as the corrections leave them.
-- After a correction (a reversal, a return) is inserted: the customer's oldest
-- unpaid debit as app/domain/overdue.py counts it, which running totals cannot
-- tell (a voided charge no longer counts, a return reduces its own order's
-- charge, a reversed payment's charges are unpaid again), and corrected_at, the
-- first instant from which a correction counts: reads at or after it ask
-- unsettled_debits().  An AFTER trigger, so that the entry is in the table (and,
-- for a statement inserting several, all of them are).  The BEFORE trigger
-- credit_ledger_apply() has locked the customer row already.
CREATE OR REPLACE FUNCTION credit_ledger_correct() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    pending boolean;                                                      -- 0022
    cust customers%ROWTYPE;                                               -- 0022
BEGIN
    IF NEW.business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT x.owed_pending INTO pending FROM customers x                   -- 0022
     WHERE x.business_id = NEW.business_id AND x.id = NEW.customer_id;    -- 0022
    UPDATE customers c
       SET corrected_at = coalesce(c.corrected_at, NEW.created_at),
           oldest_unpaid_at = (
               SELECT d.made_at FROM unsettled_debits(c.business_id, c.id, 'infinity') d
                ORDER BY d.charged_total LIMIT 1),
           owed_pending = false                                           -- 0022
     WHERE c.business_id = NEW.business_id AND c.id = NEW.customer_id
    RETURNING c.* INTO cust;                                              -- 0022
    -- The first trigger of the statement's corrections of this customer       0022
    -- counts them again, as all of the statement's entries leave them.        0022
    IF pending THEN                                                       -- 0022
        PERFORM move_owed(cust.business_id, cust.id, cust.payment_terms_days, 1, -- 0022
                          cust.credited_total, true, cust.oldest_unpaid_at); -- 0022
    END IF;                                                               -- 0022
    RETURN NULL;
END $$;
