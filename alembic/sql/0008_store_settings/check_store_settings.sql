-- A store's settings as the database accepts them: a time zone PostgreSQL knows
-- (the service also checks it against Python's zoneinfo), and a currency that no
-- longer changes once the first sale exists.  A sale takes the same advisory key,
-- shared, before its bill number (purchase()), so a currency change waits for sales
-- in progress and then sees them: it cannot slip between a first sale and its commit.
CREATE FUNCTION check_store_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Raises invalid_parameter_value for a zone it does not recognise.
    PERFORM now() AT TIME ZONE NEW.time_zone;
    IF TG_OP = 'UPDATE' AND (NEW.currency, NEW.currency_minor_units)
                            IS DISTINCT FROM (OLD.currency, OLD.currency_minor_units) THEN
        PERFORM pg_advisory_xact_lock(OLD.id);
        IF EXISTS (SELECT FROM orders o WHERE o.business_id = OLD.id) THEN
            RAISE EXCEPTION 'the currency is fixed once the first sale exists'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'currency_fixed_after_first_sale';
        END IF;
    END IF;
    RETURN NEW;
END $$;
