CREATE FUNCTION user_emails_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_emails (email, business_id, user_id)
        VALUES (NEW.email, NEW.business_id, NEW.id);
    ELSIF NEW.email <> OLD.email THEN
        UPDATE user_emails SET email = NEW.email WHERE email = OLD.email;
    END IF;
    RETURN NULL;
END $$;
