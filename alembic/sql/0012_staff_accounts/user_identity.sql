CREATE FUNCTION user_identity(p_business_id bigint, p_user_id bigint, p_session_id bigint)
RETURNS TABLE (role text, name text, currency text, minor_units smallint, payment_terms_days integer)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    RETURN QUERY
        SELECT u.role, b.name, b.currency::text, b.currency_minor_units, b.payment_terms_days
          FROM users u
          JOIN user_sessions s ON s.business_id = u.business_id AND s.user_id = u.id
          JOIN businesses b ON b.id = u.business_id
         WHERE u.business_id = p_business_id AND u.id = p_user_id AND u.active
           AND s.id = p_session_id AND s.revoked_at IS NULL AND s.expires_at > now();
END $$;
