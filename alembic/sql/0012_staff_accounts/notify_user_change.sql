-- TG_ARGV[0] names the column that holds the user's id.
CREATE FUNCTION notify_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('credit_ledger_auth',
            format('clu_%s_%s', OLD.business_id, to_jsonb(OLD) ->> TG_ARGV[0]));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('credit_ledger_auth',
            format('clu_%s_%s', NEW.business_id, to_jsonb(NEW) ->> TG_ARGV[0]));
    END IF;
    RETURN NULL;
END $$;
