-- A payment received later (not at the counter: summarize_sale counts those), by method.
CREATE FUNCTION summarize_payment() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d sales_summaries;
BEGIN
    d.business_id := NEW.business_id;
    d.slot := NEW.created_at;
    d := jsonb_populate_record(d, jsonb_build_object('received_' || lower(NEW.method), NEW.amount));
    PERFORM add_to_sales_summary(d);
    RETURN NULL;
END $$;
