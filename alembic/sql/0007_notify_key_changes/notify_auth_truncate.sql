CREATE FUNCTION notify_auth_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('credit_ledger_auth', '');
    RETURN NULL;
END $$;
