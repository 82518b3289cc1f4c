-- After a correction (a reversal, a return) is inserted: the customer's oldest
-- unpaid debit as app/domain/overdue.py counts it, which running totals cannot
-- tell (a voided charge no longer counts, a return reduces its own order's
-- charge, a reversed payment's charges are unpaid again), and corrected_at, the
-- first instant from which a correction counts: reads at or after it ask
-- unsettled_debits().  An AFTER trigger, so that the entry is in the table (and,
-- for a statement inserting several, all of them are).  The BEFORE trigger
-- credit_ledger_apply() has locked the customer row already.
CREATE FUNCTION credit_ledger_correct() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE customers c
       SET corrected_at = coalesce(c.corrected_at, NEW.created_at),
           oldest_unpaid_at = (
               SELECT d.made_at FROM unsettled_debits(c.business_id, c.id, 'infinity') d
                ORDER BY d.charged_total LIMIT 1)
     WHERE c.business_id = NEW.business_id AND c.id = NEW.customer_id;
    RETURN NULL;
END $$;
