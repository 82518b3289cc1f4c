CREATE FUNCTION record_payment(
    p_business_id bigint, p_customer_id bigint, p_amount bigint, p_method text,
    p_reference text, p_idempotency_key text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    v_balance  bigint;
    v_earlier  jsonb;
    v_payment  record;
    v_response jsonb;
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'payment amount must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT c.balance INTO v_balance
      FROM customers c
     WHERE c.business_id = p_business_id AND c.id = p_customer_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('result', 'not_found', 'what', 'Customer', 'id', p_customer_id);
    END IF;

    v_earlier := earlier_answer(p_business_id, p_idempotency_key, 'recordPayment', p_request_hash);
    IF v_earlier IS NOT NULL THEN
        RETURN v_earlier;
    END IF;

    IF p_amount > v_balance THEN
        RETURN jsonb_build_object('result', 'payment_exceeds_balance',
            'balance', v_balance, 'amount', p_amount);
    END IF;

    INSERT INTO payments (business_id, customer_id, amount, method, reference)
    VALUES (p_business_id, p_customer_id, p_amount, p_method, p_reference)
    RETURNING id, created_at INTO v_payment;
    INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)
    VALUES (p_business_id, p_customer_id, 'payment', -p_amount, v_payment.id);

    v_response := jsonb_build_object(
        'result', 'recorded',
        'payment', jsonb_build_object(
            'id', v_payment.id, 'customerId', p_customer_id, 'amount', p_amount,
            'method', p_method, 'reference', p_reference, 'createdAt', v_payment.created_at),
        'customer', customer_json(p_business_id, p_customer_id));
    INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)
    VALUES (p_business_id, p_idempotency_key, 'recordPayment', p_request_hash, v_response);
    RETURN v_response;
END $$;
