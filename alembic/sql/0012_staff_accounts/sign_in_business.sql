CREATE FUNCTION sign_in_business(p_email text)
RETURNS TABLE (business_id bigint, user_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT e.business_id, e.user_id FROM user_emails e WHERE e.email = lower(p_email)
$$;
