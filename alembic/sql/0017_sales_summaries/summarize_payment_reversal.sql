-- A payment reversed (a bounced cheque), by the payment's method, when it was reversed.
CREATE FUNCTION summarize_payment_reversal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d sales_summaries;
    p record;
BEGIN
    SELECT y.method, y.amount INTO STRICT p FROM payments y
     WHERE y.business_id = NEW.business_id AND y.id = NEW.payment_id;
    d.business_id := NEW.business_id;
    d.slot := NEW.created_at;
    d := jsonb_populate_record(d, jsonb_build_object('reversed_' || lower(p.method), p.amount));
    PERFORM add_to_sales_summary(d);
    RETURN NULL;
END $$;
