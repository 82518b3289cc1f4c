-- p_product_ids must be strictly ascending (lines for one product merged) with
-- one positive quantity each; the service guarantees it and this re-checks it.
CREATE OR REPLACE FUNCTION purchase(
    p_business_id bigint, p_customer_id bigint, p_product_ids bigint[], p_quantities bigint[],
    p_expected_total bigint, p_note text, p_idempotency_key text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n          integer := coalesce(cardinality(p_product_ids), 0);
    v_customer record;
    v_key      record;
    v_ids      bigint[];
    v_names    text[];
    v_prices   bigint[];
    v_stocks   bigint[];
    v_locked   record;
    v_short    jsonb := '[]';
    v_refusal  jsonb;
    -- numeric: quantity * price may exceed bigint; such a total can never pass
    -- the credit check, and everything written after that check fits.
    v_total    numeric := 0;
    v_items    jsonb := '[]';
    v_order_id bigint;
    v_number   text;
    v_created  timestamptz;
    v_order    jsonb;
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

    -- While the row is locked nothing but this purchase can change it, and this
    -- purchase changes only the balance and the oldest unpaid charge: the rest
    -- of what the answer shows is built now.
    SELECT c.credit_limit, c.balance, jsonb_build_object(
               'id', c.id, 'name', c.name, 'phone', c.phone, 'email', c.email,
               'creditLimit', c.credit_limit,
               'paymentTermsDays', coalesce(c.payment_terms_days,
                   (SELECT b.payment_terms_days FROM businesses b WHERE b.id = c.business_id)),
               'ownPaymentTermsDays', c.payment_terms_days, 'createdAt', c.created_at
           ) AS fixed_json
      INTO v_customer
      FROM customers c
     WHERE c.business_id = p_business_id AND c.id = p_customer_id
       FOR UPDATE OF c;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('result', 'not_found', 'what', 'Customer', 'id', p_customer_id);
    END IF;

    -- What the key already answers: the stored success for the same request
    -- (marked as a replay), key_reused for any other request.
    SELECT k.operation, k.request_hash, k.response INTO v_key
      FROM idempotency_keys k
     WHERE k.business_id = p_business_id AND k.key = p_idempotency_key;
    IF FOUND THEN
        IF v_key.operation = 'purchase' AND v_key.request_hash = p_request_hash THEN
            RETURN v_key.response || '{"replayed": true}';
        END IF;
        RETURN '{"result": "key_reused"}';
    END IF;

    -- The products as last committed, not locked: what the purchase decides on
    -- and writes.  Under the product locks below it checks they still hold.
    SELECT array_agg(id ORDER BY id), array_agg(name ORDER BY id),
           array_agg(price ORDER BY id), array_agg(stock ORDER BY id)
      INTO v_ids, v_names, v_prices, v_stocks
      FROM products
     WHERE business_id = p_business_id AND id = ANY (p_product_ids);
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
        v_refusal := jsonb_build_object('result', 'insufficient_stock', 'lines', v_short);
    ELSIF p_expected_total IS NOT NULL AND p_expected_total <> v_total THEN
        v_refusal := jsonb_build_object('result', 'price_changed',
            'expectedTotal', p_expected_total, 'actualTotal', v_total);
    ELSIF v_customer.balance + v_total > v_customer.credit_limit THEN
        v_refusal := jsonb_build_object('result', 'credit_limit_exceeded',
            'creditLimit', v_customer.credit_limit, 'balance', v_customer.balance,
            'orderTotal', v_total);
    END IF;

    IF v_refusal IS NULL THEN
        -- The number comes from the order's own identity value: unique, readable,
        -- and no counter row that every purchase of the business would queue on.
        v_order_id := nextval('orders_id_seq');
        v_number := 'ORD-' || lpad(v_order_id::text, greatest(6, length(v_order_id::text)), '0');
        v_created := clock_timestamp();
        INSERT INTO orders (business_id, id, number, customer_id, total, note, created_at)
        VALUES (p_business_id, v_order_id, v_number, p_customer_id, v_total, p_note, v_created);

        -- The ledger refuses zero amounts: an order of free items charges nothing.
        IF v_total > 0 THEN
            INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id)
            VALUES (p_business_id, p_customer_id, 'charge', v_total, v_order_id);
        END IF;

        -- The balance and oldest unpaid charge as the ledger trigger left them are
        -- read by the statement that stores the answer.
        v_order := jsonb_build_object(
            'id', v_order_id, 'number', v_number, 'customerId', p_customer_id,
            'total', v_total, 'note', p_note, 'createdAt', v_created, 'items', v_items);
        INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)
        SELECT p_business_id, p_idempotency_key, 'purchase', p_request_hash,
               jsonb_build_object('result', 'completed', 'order', v_order,
                   'customer', v_customer.fixed_json || jsonb_build_object(
                       'balance', c.balance, 'oldestUnpaidAt', c.oldest_unpaid_at))
          FROM customers c
         WHERE c.business_id = p_business_id AND c.id = p_customer_id
        RETURNING response INTO STRICT v_response;
    END IF;

    -- Buyers of a product queue here rather than on its row: the row gets a new
    -- version with every sale, and waiters on a row wake up at each commit to
    -- queue again on the new version.  The key is (business, product), so naming
    -- another tenant's product id never queues behind that tenant's buyers.  Only
    -- purchases take these locks, after the customer row and before any product
    -- row, in ascending key order (product id order until ids pass 2^31; a key
    -- that two products share only makes their buyers queue together), so they
    -- add no wait cycle.  The row locks are still what protects the stock.
    PERFORM pg_advisory_xact_lock((p_business_id % 2147483647)::integer, k.key)
       FROM (SELECT DISTINCT (id % 2147483647)::integer AS key
               FROM unnest(p_product_ids) AS id) AS k
      ORDER BY k.key;

    -- LockRows sits above the sort, so the rows are locked in ascending id.
    SELECT array_agg(p.name) AS names, array_agg(p.price) AS prices,
           array_agg(p.stock) AS stocks
      INTO v_locked
      FROM (SELECT id, name, price, stock FROM products
             WHERE business_id = p_business_id AND id = ANY (p_product_ids)
             ORDER BY id FOR UPDATE) p;

    -- Decided on values that changed before the locks: roll everything back, and
    -- the service calls again (products are never deleted, so all are found).
    IF v_locked.names IS DISTINCT FROM v_names OR v_locked.prices IS DISTINCT FROM v_prices THEN
        RAISE EXCEPTION 'a product changed during the purchase; retry it'
            USING ERRCODE = 'serialization_failure';
    END IF;
    v_short := '[]';
    FOR i IN 1 .. n LOOP
        IF p_quantities[i] > v_locked.stocks[i] THEN
            v_short := v_short || jsonb_build_object(
                'productId', v_ids[i], 'requested', p_quantities[i],
                'available', v_locked.stocks[i]);
        END IF;
    END LOOP;
    IF jsonb_array_length(v_short) > 0 THEN
        IF v_refusal IS NULL THEN
            RAISE EXCEPTION 'stock ran out during the purchase; retry it'
                USING ERRCODE = 'serialization_failure';
        END IF;
        RETURN jsonb_build_object('result', 'insufficient_stock', 'lines', v_short);
    END IF;
    IF v_refusal IS NOT NULL THEN
        IF v_refusal ->> 'result' = 'insufficient_stock' THEN
            RAISE EXCEPTION 'stock came in during the purchase; retry it'
                USING ERRCODE = 'serialization_failure';
        END IF;
        RETURN v_refusal;
    END IF;

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
    RETURN v_response;
END $$;
