-- Authentication runs before the tenant is known: the key names its business,
-- the function binds that tenant and RLS does the rest.  A key claiming the wrong
-- business simply finds nothing.
CREATE FUNCTION api_key_identity(p_business_id bigint, p_key_id bigint, p_secret_hash bytea)
RETURNS TABLE (role text, name text, currency text, minor_units smallint, payment_terms_days integer)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    RETURN QUERY
        SELECT k.role, b.name, b.currency::text, b.currency_minor_units, b.payment_terms_days
          FROM api_keys k JOIN businesses b ON b.id = k.business_id
         WHERE k.business_id = p_business_id AND k.id = p_key_id
           AND k.secret_hash = p_secret_hash AND k.revoked_at IS NULL;
END $$;
