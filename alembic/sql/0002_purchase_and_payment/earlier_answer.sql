-- What an idempotency key already answers: the stored success for the same
-- request (marked as a replay), key_reused for any other request, else NULL.
CREATE FUNCTION earlier_answer(
    p_business_id bigint, p_key text, p_operation text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_key record;
BEGIN
    SELECT k.operation, k.request_hash, k.response INTO v_key
      FROM idempotency_keys k
     WHERE k.business_id = p_business_id AND k.key = p_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_key.operation = p_operation AND v_key.request_hash = p_request_hash THEN
        RETURN v_key.response || '{"replayed": true}';
    END IF;
    RETURN '{"result": "key_reused"}';
END $$;
