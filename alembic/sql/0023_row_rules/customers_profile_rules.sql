-- A customer's profile rules, checked where the profile is written (0023): for the
-- reason of products_catalogue_rules(), so that the ledger's update of the balance
-- (every sale and payment) no longer reads and plans them.  The credit limit's
-- and the balance's rules stay CHECKs.
CREATE FUNCTION customers_profile_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (length(btrim(NEW.name)) BETWEEN 1 AND 200) THEN
        broken := 'customers_name_check';
    ELSIF NOT (length(NEW.phone) <= 40) THEN
        broken := 'customers_phone_check';
    ELSIF NOT (length(NEW.email) <= 254) THEN
        broken := 'customers_email_check';
    ELSIF NOT (NEW.payment_terms_days BETWEEN 0 AND 3650) THEN
        broken := 'customers_payment_terms_days_check';
    ELSE
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'new row for relation "customers" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'customers',
              SCHEMA = TG_TABLE_SCHEMA;
END $$;
