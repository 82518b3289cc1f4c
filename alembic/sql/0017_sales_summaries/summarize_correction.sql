-- A void (the whole order's total) or a return (its credit note), when it was made.
CREATE FUNCTION summarize_correction() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d sales_summaries;
BEGIN
    d.business_id := NEW.business_id;
    d.slot := NEW.created_at;
    IF TG_TABLE_NAME = 'order_voids' THEN
        d.voids := 1;
        SELECT o.total INTO STRICT d.voided FROM orders o
         WHERE o.business_id = NEW.business_id AND o.id = NEW.order_id;
    ELSE
        d.returns := 1;
        d.returned := NEW.credit_amount;
    END IF;
    PERFORM add_to_sales_summary(d);
    RETURN NULL;
END $$;
