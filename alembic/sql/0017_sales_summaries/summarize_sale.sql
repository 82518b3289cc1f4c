-- A sale (an orders row) in the summary of its slot: the bill, its figures, and the
-- money paid at the counter by method.  The order row is written last in purchase(),
-- after the bill counter is taken, so its counter payments already exist; the
-- payments trigger leaves them to this one (summarize_payment), and a sale writes
-- its summary row while it already holds the business's bill counter: it adds no
-- wait to the checkout.
CREATE FUNCTION summarize_sale() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d sales_summaries;
    p record;
BEGIN
    d.business_id := NEW.business_id;
    d.slot := NEW.created_at;
    d.bills := 1;
    d.paid_in_full := (NEW.paid_amount = NEW.total)::integer;
    d.partly_paid := (NEW.paid_amount > 0 AND NEW.paid_amount < NEW.total)::integer;
    d.on_credit := (NEW.paid_amount = 0 AND NEW.total > 0)::integer;
    d.gross := NEW.subtotal;
    d.discount := NEW.discount_total;
    d.tax := NEW.tax_total;
    d.total := NEW.total;
    d.paid := NEW.paid_amount;
    d.credit := NEW.total - NEW.paid_amount;
    IF NEW.paid_amount > 0 THEN
        FOR p IN SELECT y.method, sum(y.amount) AS amount FROM payments y
                  WHERE y.business_id = NEW.business_id AND y.order_id = NEW.id
                  GROUP BY y.method
        LOOP
            d := jsonb_populate_record(d, jsonb_build_object('received_' || lower(p.method), p.amount));
        END LOOP;
    END IF;
    PERFORM add_to_sales_summary(d);
    RETURN NULL;
END $$;
