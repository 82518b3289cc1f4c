-- A customer's own terms changed: all they owe moves to the new terms' rows.
CREATE FUNCTION customer_terms_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM move_owed(NEW.business_id, NEW.id, OLD.payment_terms_days, -1, NEW.credited_total,
                      NEW.corrected_at IS NOT NULL, NEW.oldest_unpaid_at);
    PERFORM move_owed(NEW.business_id, NEW.id, NEW.payment_terms_days, 1, NEW.credited_total,
                      NEW.corrected_at IS NOT NULL, NEW.oldest_unpaid_at);
    RETURN NULL;
END $$;
