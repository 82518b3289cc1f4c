CREATE FUNCTION notify_business_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('credit_ledger_auth', format('cl_%s', OLD.id));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('credit_ledger_auth', format('cl_%s', NEW.id));
    END IF;
    RETURN NULL;
END $$;
