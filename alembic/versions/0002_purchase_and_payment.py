"""Purchases and payments as single server-side calls; owner-side maintenance policies.

``purchase`` and ``record_payment`` each do a whole use case in one statement:
the service sends one ``SELECT purchase(...)`` in autocommit, PostgreSQL runs it
as one implicit transaction, and every row lock it takes is released when that
one round trip returns.  Nothing is written until everything is validated on
locked rows, and any error rolls the whole statement back.

Lock order, the same on every path so no two transactions can wait on each
other in a cycle: the customer row first, then the product rows in ascending
id.  Payments lock only the customer; a restock locks only its product.

Idempotency is checked *after* the customer lock: identical duplicates queue
on that lock, and the later one finds the key the earlier one committed.  Two
different requests for different customers racing on one new key collide on
``idempotency_keys_pkey``; the service retries the loser, which then finds the
key.  Only successes are remembered: a refusal writes nothing, not even its key.

Both functions are SECURITY INVOKER: they run with the service role's rights,
so row level security and the column grants apply exactly as to plain SQL.  The
first thing each does is bind the tenant for the transaction.

Results are ``jsonb`` objects with a ``result`` tag; a success carries every
field the API answers with, so the service needs no second query.

The owner role (the one running this migration) gets two narrow policies, since
RLS is forced on it too: it may list businesses (``verify`` walks them and then
binds each tenant in turn) and it may see and delete idempotency keys older than
24 hours (``idempotency prune``); the 24-hour floor is enforced here as well as
in the command.

Revision ID: 0002_purchase_and_payment
Revises: 0001_core_schema
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_purchase_and_payment"
down_revision: str | None = "0001_core_schema"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"

PURCHASE_ARGS = "bigint, bigint, bigint[], bigint[], bigint, text, text, text"
PAYMENT_ARGS = "bigint, bigint, bigint, text, text, text, text"

FUNCTIONS = r"""
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

-- p_product_ids must be strictly ascending (lines for one product merged) with
-- one positive quantity each; the service guarantees it and this re-checks it.
CREATE FUNCTION purchase(
    p_business_id bigint, p_customer_id bigint, p_product_ids bigint[], p_quantities bigint[],
    p_expected_total bigint, p_note text, p_idempotency_key text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    n          integer := coalesce(cardinality(p_product_ids), 0);
    v_customer record;
    v_earlier  jsonb;
    v_ids      bigint[];
    v_names    text[];
    v_prices   bigint[];
    v_stocks   bigint[];
    v_short    jsonb := '[]';
    -- numeric: quantity * price may exceed bigint; such a total can never pass
    -- the credit check, and everything written after that check fits.
    v_total    numeric := 0;
    v_items    jsonb := '[]';
    v_order_id bigint;
    v_number   text;
    v_created  timestamptz;
    v_response jsonb;
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    IF n = 0 OR n <> coalesce(cardinality(p_quantities), 0) THEN
        RAISE EXCEPTION 'purchase needs one quantity per product line'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 1 .. n LOOP
        IF p_product_ids[i] IS NULL OR p_quantities[i] IS NULL OR p_quantities[i] <= 0
           OR (i > 1 AND p_product_ids[i] <= p_product_ids[i - 1]) THEN
            RAISE EXCEPTION 'purchase lines must be merged, sorted by product id, quantities > 0'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;

    SELECT c.credit_limit, c.balance INTO v_customer
      FROM customers c
     WHERE c.business_id = p_business_id AND c.id = p_customer_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('result', 'not_found', 'what', 'Customer', 'id', p_customer_id);
    END IF;

    v_earlier := earlier_answer(p_business_id, p_idempotency_key, 'purchase', p_request_hash);
    IF v_earlier IS NOT NULL THEN
        RETURN v_earlier;
    END IF;

    -- LockRows sits above the sort, so the rows are locked in ascending id.
    SELECT array_agg(p.id), array_agg(p.name), array_agg(p.price), array_agg(p.stock)
      INTO v_ids, v_names, v_prices, v_stocks
      FROM (SELECT id, name, price, stock FROM products
             WHERE business_id = p_business_id AND id = ANY (p_product_ids)
             ORDER BY id FOR UPDATE) p;
    IF coalesce(cardinality(v_ids), 0) < n THEN
        RETURN jsonb_build_object('result', 'not_found', 'what', 'Product', 'id',
            (SELECT min(x) FROM unnest(p_product_ids) x WHERE x <> ALL (coalesce(v_ids, '{}'))));
    END IF;

    -- Both arrays are ascending and unique, so position i is the same product.
    FOR i IN 1 .. n LOOP
        IF p_quantities[i] > v_stocks[i] THEN
            v_short := v_short || jsonb_build_object(
                'productId', v_ids[i], 'requested', p_quantities[i], 'available', v_stocks[i]);
        END IF;
        v_total := v_total + p_quantities[i]::numeric * v_prices[i];
        v_items := v_items || jsonb_build_object(
            'productId', v_ids[i], 'productName', v_names[i], 'quantity', p_quantities[i],
            'unitPrice', v_prices[i], 'lineTotal', p_quantities[i]::numeric * v_prices[i]);
    END LOOP;
    IF jsonb_array_length(v_short) > 0 THEN
        RETURN jsonb_build_object('result', 'insufficient_stock', 'lines', v_short);
    END IF;
    IF p_expected_total IS NOT NULL AND p_expected_total <> v_total THEN
        RETURN jsonb_build_object('result', 'price_changed',
            'expectedTotal', p_expected_total, 'actualTotal', v_total);
    END IF;
    IF v_customer.balance + v_total > v_customer.credit_limit THEN
        RETURN jsonb_build_object('result', 'credit_limit_exceeded',
            'creditLimit', v_customer.credit_limit, 'balance', v_customer.balance,
            'orderTotal', v_total);
    END IF;

    -- The number comes from the order's own identity value: unique, readable, and
    -- no counter row that every purchase of the business would queue on.
    v_order_id := nextval('orders_id_seq');
    v_number := 'ORD-' || lpad(v_order_id::text, greatest(6, length(v_order_id::text)), '0');
    v_created := clock_timestamp();
    INSERT INTO orders (business_id, id, number, customer_id, total, note, created_at)
    VALUES (p_business_id, v_order_id, v_number, p_customer_id, v_total, p_note, v_created);

    INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,
                             quantity, unit_price, line_total)
    SELECT p_business_id, v_order_id, l.line_no, l.product_id, l.name, l.quantity, l.price,
           l.quantity * l.price
      FROM unnest(v_ids, v_names, p_quantities, v_prices)
           WITH ORDINALITY AS l (product_id, name, quantity, price, line_no);

    -- The trigger applies each movement to products.stock (rows already locked).
    INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id)
    SELECT p_business_id, l.product_id, 'sale', -l.quantity, v_order_id
      FROM unnest(v_ids, p_quantities) AS l (product_id, quantity);

    -- The ledger refuses zero amounts: an order of free items charges nothing.
    IF v_total > 0 THEN
        INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id)
        VALUES (p_business_id, p_customer_id, 'charge', v_total, v_order_id);
    END IF;

    v_response := jsonb_build_object(
        'result', 'completed',
        'order', jsonb_build_object(
            'id', v_order_id, 'number', v_number, 'customerId', p_customer_id,
            'total', v_total, 'note', p_note, 'createdAt', v_created, 'items', v_items),
        'customer', customer_json(p_business_id, p_customer_id));
    INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)
    VALUES (p_business_id, p_idempotency_key, 'purchase', p_request_hash, v_response);
    RETURN v_response;
END $$;

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
"""

GRANTS = f"""
REVOKE EXECUTE ON FUNCTION purchase({PURCHASE_ARGS}) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION record_payment({PAYMENT_ARGS}) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION customer_json(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION earlier_answer(bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purchase({PURCHASE_ARGS}) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION record_payment({PAYMENT_ARGS}) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION customer_json(bigint, bigint) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION earlier_answer(bigint, text, text, text) TO {APP_ROLE};
"""

# TO CURRENT_USER: the role running the migration, which also runs the admin
# commands.  Policies are permissive, so these add to tenant_isolation for that
# role only; the service role is unaffected.
OWNER_POLICIES = """
CREATE POLICY owner_lists_businesses ON businesses FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY owner_sees_expired_keys ON idempotency_keys FOR SELECT TO CURRENT_USER
    USING (created_at < now() - interval '24 hours');
CREATE POLICY owner_prunes_expired_keys ON idempotency_keys FOR DELETE TO CURRENT_USER
    USING (created_at < now() - interval '24 hours');
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    op.execute(GRANTS)
    op.execute(OWNER_POLICIES)


def downgrade() -> None:
    op.execute(
        f"""
        DROP POLICY owner_prunes_expired_keys ON idempotency_keys;
        DROP POLICY owner_sees_expired_keys ON idempotency_keys;
        DROP POLICY owner_lists_businesses ON businesses;
        DROP FUNCTION record_payment({PAYMENT_ARGS});
        DROP FUNCTION purchase({PURCHASE_ARGS});
        DROP FUNCTION earlier_answer(bigint, text, text, text);
        DROP FUNCTION customer_json(bigint, bigint);
        """
    )
