-- As 0005's, with the customer's archivedAt in its answer (0013): an archived customer
-- may still pay what they owe.  0018: p_actor_user_id or p_actor_key_id (at most one) is
-- who takes the payment; the payment, its entry and the answer record it (lines marked 0018).
CREATE OR REPLACE FUNCTION record_payment(
    p_business_id bigint, p_customer_id bigint, p_amount bigint, p_method text,
    p_reference text, p_idempotency_key text, p_request_hash text,
    p_actor_user_id bigint DEFAULT NULL, p_actor_key_id bigint DEFAULT NULL  -- 0018
) RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_customer record;
    v_key      record;
    v_payment  record;
    v_response jsonb;
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'payment amount must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- As in purchase(): what the payment cannot change is built on the locked row.
    SELECT c.balance, jsonb_build_object(
               'id', c.id, 'name', c.name, 'phone', c.phone, 'email', c.email,
               'creditLimit', c.credit_limit,
               'paymentTermsDays', coalesce(c.payment_terms_days,
                   (SELECT b.payment_terms_days FROM businesses b WHERE b.id = c.business_id)),
               'ownPaymentTermsDays', c.payment_terms_days, 'createdAt', c.created_at,
               'archivedAt', c.archived_at
           ) AS fixed_json
      INTO v_customer
      FROM customers c
     WHERE c.business_id = p_business_id AND c.id = p_customer_id
       FOR UPDATE OF c;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('result', 'not_found', 'what', 'Customer', 'id', p_customer_id);
    END IF;

    SELECT k.operation, k.request_hash, k.response INTO v_key
      FROM idempotency_keys k
     WHERE k.business_id = p_business_id AND k.key = p_idempotency_key;
    IF FOUND THEN
        IF v_key.operation = 'recordPayment' AND v_key.request_hash = p_request_hash THEN
            RETURN v_key.response || '{"replayed": true}';
        END IF;
        RETURN '{"result": "key_reused"}';
    END IF;

    IF p_amount > v_customer.balance THEN
        RETURN jsonb_build_object('result', 'payment_exceeds_balance',
            'balance', v_customer.balance, 'amount', p_amount);
    END IF;

    INSERT INTO payments (business_id, customer_id, amount, method, reference,
                          created_by_user_id, created_by_key_id)  -- 0018
    VALUES (p_business_id, p_customer_id, p_amount, p_method, p_reference,
            p_actor_user_id, p_actor_key_id)
    RETURNING id, created_at INTO v_payment;
    INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id,
                               created_by_user_id, created_by_key_id)  -- 0018
    VALUES (p_business_id, p_customer_id, 'payment', -p_amount, v_payment.id,
            p_actor_user_id, p_actor_key_id);

    INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)
    SELECT p_business_id, p_idempotency_key, 'recordPayment', p_request_hash,
           jsonb_build_object('result', 'recorded',
               'payment', jsonb_build_object(
                   'id', v_payment.id, 'customerId', p_customer_id, 'amount', p_amount,
                   'method', p_method, 'reference', p_reference,
                   'createdAt', v_payment.created_at,
                   'createdByUserId', p_actor_user_id, 'createdByKeyId', p_actor_key_id),  -- 0018
               'customer', v_customer.fixed_json || jsonb_build_object(
                   'balance', c.balance, 'oldestUnpaidAt', c.oldest_unpaid_at))
      FROM customers c
     WHERE c.business_id = p_business_id AND c.id = p_customer_id
    RETURNING response INTO STRICT v_response;
    RETURN v_response;
END $$;
