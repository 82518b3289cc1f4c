CREATE FUNCTION notify_api_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('credit_ledger_auth', format('cl_%s_%s', OLD.business_id, OLD.id));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('credit_ledger_auth', format('cl_%s_%s', NEW.business_id, NEW.id));
    END IF;
    RETURN NULL;
END $$;
