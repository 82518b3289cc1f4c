-- The customer as the API shows it, after whatever this transaction wrote.
-- plpgsql rather than sql: plpgsql keeps the plan for the session, while a
-- non-inlined sql function is planned again on every call.
CREATE FUNCTION customer_json(p_business_id bigint, p_customer_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'id', c.id, 'name', c.name, 'phone', c.phone, 'email', c.email,
        'creditLimit', c.credit_limit,
        'paymentTermsDays', coalesce(c.payment_terms_days, b.payment_terms_days),
        'ownPaymentTermsDays', c.payment_terms_days,
        'balance', c.balance, 'oldestUnpaidAt', c.oldest_unpaid_at, 'createdAt', c.created_at)
      FROM customers c JOIN businesses b ON b.id = c.business_id
     WHERE c.business_id = p_business_id AND c.id = p_customer_id);
END $$;
