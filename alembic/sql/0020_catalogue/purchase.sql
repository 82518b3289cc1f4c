-- A whole sale in one call: a known customer or a walk-in (p_customer_id NULL), line
-- and bill discounts, tax, payments made at the counter.  The arithmetic is
-- app/domain/checkout.py's, line for line; a randomized test proves both agree.
-- p_product_ids must be strictly ascending (lines for one product merged) with one
-- positive quantity and one discount each, and one method and reference per payment
-- amount; the service guarantees it and this re-checks it.  p_sold_at is NULL but
-- in tests and the demo: the sale's instant, which picks its bill year and, since
-- 0019, dates the sale's ledger entries too.  An archived customer
-- cannot buy and an archived product cannot be sold: not_found, marked archived.
-- Only an ACTIVE product can be sold (0020): product_not_active, with its id and status.
--
-- 0014: the sale takes no bill number.  It queues its order in bills_to_number with
-- the year of its number, and number_bills() numbers it once it has committed; the
-- answer has no "number", which the service adds.
--
-- 0018: p_actor_user_id or p_actor_key_id (at most one) is who sells: every row the
-- sale writes records it (the lines marked 0018), and so does its answer.
--
-- Holds, in this order on every path: the customer row; the products' advisory
-- queues and rows in ascending id; the business's advisory key, shared (a currency
-- change takes it exclusively, 0008); the new idempotency key.
CREATE OR REPLACE FUNCTION purchase(
    p_business_id bigint, p_customer_id bigint, p_product_ids bigint[], p_quantities bigint[],
    p_discounts bigint[], p_bill_discount bigint, p_payment_amounts bigint[],
    p_payment_methods text[], p_payment_references text[], p_expected_total bigint,
    p_note text, p_idempotency_key text, p_request_hash text, p_sold_at timestamptz,
    p_actor_user_id bigint DEFAULT NULL, p_actor_key_id bigint DEFAULT NULL  -- 0018
) RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n           integer := coalesce(cardinality(p_product_ids), 0);
    m           integer := coalesce(cardinality(p_payment_amounts), 0);
    v_store     record;
    v_limit     bigint;
    v_balance   bigint;
    v_archived  timestamptz;
    v_fixed     jsonb;
    v_key       record;
    v_products  record;
    v_amounts   numeric[] := '{}';
    v_left      numeric[] := '{}';
    v_shares    numeric[] := '{}';
    v_taxes     numeric[] := '{}';
    v_problems  jsonb := '[]';
    v_short     jsonb := '[]';
    -- numeric: quantity * price may exceed bigint; such a total can never be paid
    -- or pass the credit check, and everything written after those checks fits.
    v_whole     numeric := 0;
    v_subtotal  numeric := 0;
    v_discounts numeric;
    v_tax       numeric := 0;
    v_total     numeric;
    v_paid      numeric := 0;
    v_rest      numeric;
    v_take      numeric;
    v_net       numeric;
    v_largest   integer := 1;
    v_items     jsonb := '[]';
    v_payments  jsonb := '[]';
    v_payment   record;
    v_order_id  bigint;
    v_created   timestamptz;
    v_year      integer;
    v_order     jsonb;
    v_response  jsonb;
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    IF n = 0 OR n <> coalesce(cardinality(p_quantities), 0)
       OR n <> coalesce(cardinality(p_discounts), 0) OR p_bill_discount IS NULL
       OR m <> coalesce(cardinality(p_payment_methods), 0)
       OR m <> coalesce(cardinality(p_payment_references), 0) THEN
        RAISE EXCEPTION 'purchase needs a quantity and a discount per line, a method and a reference per payment'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 1 .. n LOOP
        IF p_product_ids[i] IS NULL OR p_quantities[i] IS NULL OR p_quantities[i] <= 0
           OR p_discounts[i] IS NULL
           OR (i > 1 AND p_product_ids[i] <= p_product_ids[i - 1]) THEN
            RAISE EXCEPTION 'purchase lines must be merged, sorted by product id, quantities > 0'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;

    SELECT b.time_zone, b.default_tax_rate, b.prices_include_tax INTO v_store
      FROM businesses b WHERE b.id = p_business_id;

    IF p_customer_id IS NOT NULL THEN
        -- While the row is locked nothing but this sale can change it, and this sale
        -- changes only the balance and the oldest unpaid charge.
        SELECT c.credit_limit, c.balance, jsonb_build_object(
                   'id', c.id, 'name', c.name, 'phone', c.phone, 'email', c.email,
                   'creditLimit', c.credit_limit,
                   'paymentTermsDays', coalesce(c.payment_terms_days,
                       (SELECT b.payment_terms_days FROM businesses b WHERE b.id = c.business_id)),
                   'ownPaymentTermsDays', c.payment_terms_days, 'createdAt', c.created_at
               ), c.archived_at
          INTO v_limit, v_balance, v_fixed, v_archived
          FROM customers c
         WHERE c.business_id = p_business_id AND c.id = p_customer_id
           FOR UPDATE OF c;
        IF NOT FOUND THEN
            RETURN jsonb_build_object('result', 'not_found', 'what', 'Customer', 'id', p_customer_id);
        END IF;
        -- 0013: an archived customer cannot buy.
        IF v_archived IS NOT NULL THEN
            RETURN jsonb_build_object('result', 'not_found', 'what', 'Customer', 'id', p_customer_id,
                'archived', true);
        END IF;
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

    -- Buyers of a product queue on its advisory lock rather than on its row (0005).
    PERFORM pg_advisory_xact_lock((p_business_id % 2147483647)::integer, k.key)
       FROM (SELECT DISTINCT (id % 2147483647)::integer AS key
               FROM unnest(p_product_ids) AS id) AS k
      ORDER BY k.key;

    -- LockRows sits above the sort, so the rows are locked in ascending id.
    SELECT array_agg(p.id) AS ids, array_agg(p.name) AS names, array_agg(p.price) AS prices,
           array_agg(p.stock) AS stocks, array_agg(p.rate) AS rates,
           min(p.id) FILTER (WHERE p.archived_at IS NOT NULL) AS archived,
           -- 0020: the first product that is not active, and its status.
           (array_agg(p.id ORDER BY p.id) FILTER (WHERE p.status <> 'ACTIVE'))[1] AS inactive,
           (array_agg(p.status ORDER BY p.id) FILTER (WHERE p.status <> 'ACTIVE'))[1] AS status
      INTO v_products
      FROM (SELECT id, name, price, stock, archived_at, status,
                   CAST(coalesce(tax_rate, v_store.default_tax_rate) * 100 AS integer) AS rate
              FROM products
             WHERE business_id = p_business_id AND id = ANY (p_product_ids)
             ORDER BY id FOR UPDATE) p;
    IF coalesce(cardinality(v_products.ids), 0) < n THEN
        RETURN jsonb_build_object('result', 'not_found', 'what', 'Product', 'id',
            (SELECT min(x) FROM unnest(p_product_ids) x
              WHERE x <> ALL (coalesce(v_products.ids, '{}'))));
    END IF;
    -- 0013: nor can an archived product be sold.
    IF v_products.archived IS NOT NULL THEN
        RETURN jsonb_build_object('result', 'not_found', 'what', 'Product',
            'id', v_products.archived, 'archived', true);
    END IF;
    -- 0020: only an active product can be sold.
    IF v_products.inactive IS NOT NULL THEN
        RETURN jsonb_build_object('result', 'product_not_active',
            'productId', v_products.inactive, 'status', v_products.status);
    END IF;

    -- The checkout (app/domain/checkout.py).  Both arrays are ascending and unique,
    -- so position i is the same product.
    FOR i IN 1 .. n LOOP
        v_amounts[i] := p_quantities[i]::numeric * v_products.prices[i];
        IF p_discounts[i] < 0 OR p_discounts[i] > v_amounts[i] THEN
            v_problems := v_problems || jsonb_build_object('line', i - 1, 'field', 'discount',
                'message', 'must be between zero and the line''s amount');
        END IF;
        v_left[i] := v_amounts[i] - least(greatest(p_discounts[i], 0), v_amounts[i]);
        IF v_left[i] > v_left[v_largest] THEN
            v_largest := i;
        END IF;
        v_whole := v_whole + v_left[i];
        v_subtotal := v_subtotal + v_amounts[i];
        IF p_quantities[i] > v_products.stocks[i] THEN
            v_short := v_short || jsonb_build_object('productId', v_products.ids[i],
                'requested', p_quantities[i], 'available', v_products.stocks[i]);
        END IF;
    END LOOP;
    IF NOT p_bill_discount BETWEEN 0 AND v_whole THEN
        v_problems := v_problems || jsonb_build_object('field', 'discount',
            'message', 'must be between zero and the total of the lines');
    END IF;
    FOR j IN 1 .. m LOOP
        IF p_payment_amounts[j] IS NULL OR p_payment_amounts[j] <= 0 THEN
            v_problems := v_problems || jsonb_build_object(
                'field', format('payments[%s].amount', j - 1),
                'message', 'must be greater than zero');
        END IF;
        v_paid := v_paid + coalesce(p_payment_amounts[j], 0);
    END LOOP;
    IF jsonb_array_length(v_problems) > 0 THEN
        RETURN jsonb_build_object('result', 'invalid_input', 'problems', v_problems);
    END IF;

    -- The bill discount in proportion to what is left of each line, rounded down; the
    -- remainder to the largest line, then (if it cannot take it all) the next in order.
    v_rest := p_bill_discount;
    FOR i IN 1 .. n LOOP
        v_shares[i] := CASE WHEN p_bill_discount = 0 THEN 0
                            ELSE div(p_bill_discount * v_left[i], v_whole) END;
        v_rest := v_rest - v_shares[i];
    END LOOP;
    IF v_rest > 0 THEN
        v_take := least(v_rest, v_left[v_largest] - v_shares[v_largest]);
        v_shares[v_largest] := v_shares[v_largest] + v_take;
        v_rest := v_rest - v_take;
        FOR i IN 1 .. n LOOP
            EXIT WHEN v_rest = 0;
            v_take := least(v_rest, v_left[i] - v_shares[i]);
            v_shares[i] := v_shares[i] + v_take;
            v_rest := v_rest - v_take;
        END LOOP;
    END IF;

    -- Tax per line on what is left, rounded half-up: rate in hundredths of a percent.
    FOR i IN 1 .. n LOOP
        v_net := v_left[i] - v_shares[i];
        IF v_store.prices_include_tax THEN
            v_taxes[i] := div(2 * v_net * v_products.rates[i] + 10000 + v_products.rates[i],
                              2 * (10000 + v_products.rates[i]));
        ELSE
            v_taxes[i] := div(2 * v_net * v_products.rates[i] + 10000, 20000);
        END IF;
        v_tax := v_tax + v_taxes[i];
        v_items := v_items || jsonb_build_object(
            'productId', v_products.ids[i], 'productName', v_products.names[i],
            'quantity', p_quantities[i], 'unitPrice', v_products.prices[i],
            'lineTotal', v_amounts[i], 'discount', p_discounts[i], 'billDiscount', v_shares[i],
            'taxRate', v_products.rates[i], 'taxAmount', v_taxes[i]);
    END LOOP;
    v_discounts := v_subtotal - v_whole + p_bill_discount;
    v_total := v_subtotal - v_discounts
               + CASE WHEN v_store.prices_include_tax THEN 0 ELSE v_tax END;

    IF jsonb_array_length(v_short) > 0 THEN
        RETURN jsonb_build_object('result', 'insufficient_stock', 'lines', v_short);
    END IF;
    IF p_expected_total IS NOT NULL AND p_expected_total <> v_total THEN
        RETURN jsonb_build_object('result', 'price_changed',
            'expectedTotal', p_expected_total, 'actualTotal', v_total);
    END IF;
    IF v_paid > v_total THEN
        RETURN jsonb_build_object('result', 'invalid_input', 'problems', jsonb_build_array(
            jsonb_build_object('field', 'payments',
                'message', 'must not add up to more than the total')));
    END IF;
    IF p_customer_id IS NULL AND v_paid < v_total THEN
        RETURN jsonb_build_object('result', 'invalid_input', 'problems', jsonb_build_array(
            jsonb_build_object('field', 'payments',
                'message', 'must add up to the total: a walk-in sale is paid in full')));
    END IF;
    -- The credit rule applies to the part not paid now (NULL, never true, for a walk-in).
    IF v_balance + (v_total - v_paid) > v_limit THEN
        RETURN jsonb_build_object('result', 'credit_limit_exceeded',
            'creditLimit', v_limit, 'balance', v_balance,
            'orderTotal', v_total, 'creditAmount', v_total - v_paid);
    END IF;

    -- Nothing refuses any more.  The order's rows are written first, under the
    -- order id they will have (their foreign keys to orders are checked at commit,
    -- 0011).  The shared key keeps the store's currency from changing under the
    -- sale (0008).
    PERFORM pg_advisory_xact_lock_shared(p_business_id);
    v_created := coalesce(p_sold_at, clock_timestamp());
    v_year := extract(year FROM v_created AT TIME ZONE v_store.time_zone);
    v_order_id := nextval('orders_id_seq');

    -- The ledger refuses zero amounts: an order of free items charges nothing.
    IF p_customer_id IS NOT NULL AND v_total > 0 THEN
        INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id,
                                   created_by_user_id, created_by_key_id,  -- 0018
                                   created_at)  -- 0019
        VALUES (p_business_id, p_customer_id, 'charge', v_total, v_order_id,
                p_actor_user_id, p_actor_key_id, v_created);
    END IF;
    -- Money paid at the counter: payments of this order, and of the customer's
    -- ledger when there is a customer, so the statement shows charge and payment.
    FOR j IN 1 .. m LOOP
        INSERT INTO payments (business_id, customer_id, order_id, amount, method, reference,
                              created_at, created_by_user_id, created_by_key_id)  -- 0018
        VALUES (p_business_id, p_customer_id, v_order_id, p_payment_amounts[j],
                p_payment_methods[j], p_payment_references[j], v_created,
                p_actor_user_id, p_actor_key_id)
        RETURNING id, created_at INTO v_payment;
        IF p_customer_id IS NOT NULL THEN
            INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id,
                                       created_by_user_id, created_by_key_id,  -- 0018
                                       created_at)  -- 0019
            VALUES (p_business_id, p_customer_id, 'payment', -p_payment_amounts[j], v_payment.id,
                    p_actor_user_id, p_actor_key_id, v_created);
        END IF;
        v_payments := v_payments || jsonb_build_object(
            'id', v_payment.id, 'customerId', p_customer_id, 'amount', p_payment_amounts[j],
            'method', p_payment_methods[j], 'reference', p_payment_references[j],
            'createdAt', v_payment.created_at,
            'createdByUserId', p_actor_user_id, 'createdByKeyId', p_actor_key_id);  -- 0018
    END LOOP;

    INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,
                             quantity, unit_price, line_total, discount, bill_discount,
                             tax_rate, tax_amount)
    SELECT p_business_id, v_order_id, l.line_no, l.product_id, l.name, l.quantity, l.price,
           l.quantity * l.price, l.discount, l.share, l.rate / 100.0, l.tax
      FROM unnest(v_products.ids, v_products.names, p_quantities, v_products.prices,
                  p_discounts, v_shares, v_products.rates, v_taxes)
           WITH ORDINALITY AS l (product_id, name, quantity, price, discount, share, rate, tax,
                                 line_no);

    -- The trigger applies each movement to products.stock (rows already locked).
    INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id,
                                 created_by_user_id, created_by_key_id)  -- 0018
    SELECT p_business_id, l.product_id, 'sale', -l.quantity, v_order_id,
           p_actor_user_id, p_actor_key_id
      FROM unnest(v_products.ids, p_quantities) AS l (product_id, quantity);

    -- Its bill number is taken once it has committed (number_bills, 0014).
    INSERT INTO bills_to_number (business_id, order_id, year)
    VALUES (p_business_id, v_order_id, v_year);

    INSERT INTO orders (business_id, id, customer_id, total, note, created_at,
                        discount_total, bill_discount, tax_total, prices_include_tax, paid_amount,
                        created_by_user_id, created_by_key_id)  -- 0018
    VALUES (p_business_id, v_order_id, p_customer_id, v_total, p_note, v_created,
            v_discounts, p_bill_discount, v_tax, v_store.prices_include_tax, v_paid,
            p_actor_user_id, p_actor_key_id);

    v_order := jsonb_build_object(
        'id', v_order_id, 'customerId', p_customer_id,
        'subtotal', v_subtotal, 'discountTotal', v_discounts, 'billDiscount', p_bill_discount,
        'taxTotal', v_tax, 'total', v_total, 'paidAmount', v_paid,
        'pricesIncludeTax', v_store.prices_include_tax, 'note', p_note,
        'createdAt', v_created, 'items', v_items, 'payments', v_payments,
        'createdByUserId', p_actor_user_id, 'createdByKeyId', p_actor_key_id);  -- 0018
    -- The balance and oldest unpaid charge as the ledger trigger left them are read
    -- by the statement that stores the answer.
    INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)
    SELECT p_business_id, p_idempotency_key, 'purchase', p_request_hash,
           jsonb_build_object('result', 'completed', 'order', v_order,
               'customer', v_fixed || jsonb_build_object(
                   'balance', c.balance, 'oldestUnpaidAt', c.oldest_unpaid_at))
      FROM (SELECT 1) AS one
      LEFT JOIN customers c ON c.business_id = p_business_id AND c.id = p_customer_id
    RETURNING response INTO STRICT v_response;
    RETURN v_response;
END $$;
