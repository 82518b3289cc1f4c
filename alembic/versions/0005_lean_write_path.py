"""Purchases hold their product row locks for less time; purchases and payments cost less.

With every buyer on one product, the time from a purchase's product row lock to
its commit sets the throughput.  Measured with pgbench calling the functions
directly as ``credit_ledger_app`` (``-M prepared``, 8 clients, 1,000 customers
and 1,000 products seeded as ``bench/seed.py`` does; hot = a random customer
buys 1 unit of one product, uniform = 2 random products).  This 2-core machine
changed speed by up to 3x between runs, so each run of 0004 was paired with one
of 0005 straight after it (order alternating), and the ratios are what to read.
The first two pairs of 20 s runs, then all of them:

=========  ===========================  ===========================  ========================
workload   0004: calls/s (avg, p99 ms)  0005: calls/s (avg, p99 ms)  0005 / 0004, all pairs
=========  ===========================  ===========================  ========================
hot        568 (14.1, 54.9)             667 (12.0, 16.1)             11 pairs: median x1.03
           616 (13.0, 55.3)             624 (12.8, 16.9)             (0.88-1.27); p99 41-60
                                                                     -> 14-21 ms
uniform    565 (14.1, 33.8)             580 (13.7, 35.4)             5 pairs: median x1.03
           1,062 (7.5, 15.4)            1,063 (7.5, 15.7)            (0.96-1.25)
payment    867 (9.2, 23.3)              964 (8.3, 20.8)              5 pairs: median x1.11
           1,810 (4.4, 8.7)             1,623 (4.9, 10.4)            (0.90-1.16)
=========  ===========================  ===========================  ========================

PostgreSQL CPU per call in those runs (its backends' CPU time over the calls
they completed), median of the pairs: hot -10%, uniform -4%, payment -8%.  Hot
again as 12 alternating runs of 8 s: median 622 -> 675 calls/s, CPU per call
1.76 -> 1.56 ms, p99 53 -> 17 ms.  Without contention (1 client, the 0004 and
0005 functions called alternately in one pgbench script, so that drift cancels;
3 runs): a purchase takes 3.5-5% less server time, and 8-11% less after its
product lock; a payment 5-6% less.

What changed, each part measured on its own:

* **Buyers of one product queue on an advisory lock of that product**, keyed
  by (business, product id) and taken after the customer row and before the
  product rows, in ascending key order (product id order while ids stay below
  2^31; past that two products may share a key, which only makes their buyers
  queue together).  Waiting on the row itself is costly: every purchase updates
  the row (its stock), so when the holder commits, each waiter in turn wakes up,
  finds the version it queued on replaced and queues again on the new one.
  Queued on a lock that never moves, a commit wakes one buyer, who then finds
  the row free; and tenants never queue behind each other.  Measured on its own
  (hot, 8 clients, two series of 8 s runs): +11% and +8% calls/s, PostgreSQL CPU
  per call -14% and -9%, p99 46 -> 15 ms and 56 -> 20 ms.  An uncontended
  purchase pays for the one extra statement: +0.6-1.0%.  The row locks are
  still taken, in the same order, and are what protects the stock; the advisory
  lock only orders the buyers, so writers that do not take it (a restock) stay
  correct.  Only purchases take it, always after the customer row and before
  any product row, so it adds no cycle to the lock order.
* **The ledger trigger does less per entry.**  A debit to a customer who
  already owes leaves the oldest unpaid charge as it is, so one ``UPDATE ...
  WHERE balance > 0 RETURNING`` both locks and applies it (before: a ``SELECT
  ... FOR UPDATE``, then an ``UPDATE``).  Any other entry takes the general
  path as before, except that when ``oldest_unpaid_at`` does not change the
  ``UPDATE`` does not name it, so PostgreSQL does not recompute the generated
  column ``own_terms_due_at`` (compiling that expression, with ``due_at()``
  inlined, was about a fifth of the trigger's time).  Trigger time per entry
  (``EXPLAIN ANALYZE``, median of 300): charge 0.25 -> 0.16 ms, payment 0.19 ->
  0.15 ms; the charge is inside the product lock.
* **No helper calls and no extra query after the locks.**  ``customer_json()``
  ran a query joining ``businesses`` after the writes.  Now the statement that
  locks the customer also builds the JSON of everything a purchase or payment
  cannot change (nothing else can change the locked row), and the statement
  that stores the answer under the idempotency key reads the two fields the
  ledger trigger just wrote (balance, oldest unpaid charge).  ``earlier_answer()``
  is inlined.  Time after the product lock -3-4.5%.  Both helpers had no
  other caller and are dropped.

Answers are the same, field for field (JSON objects compare and print by key,
whatever order they were built in), and so are the rows written: checked by
running the same 30 calls (every outcome, replays, free items, own terms,
payments moving the oldest unpaid charge, a negative balance) against 0004 and
0005 and comparing answers and tables, timestamps aside.

Tried and left out:

* the order, items, stock movements and charge in one statement (data-modifying
  CTEs): -1.2 to +0.4% per purchase, +0.1 and +2.5% per payment, and the order
  of the writes becomes unspecified;
* the items, short lines and total built by aggregates in the product query
  instead of the loop over the locked arrays: +1.5-2% per purchase;
* locking the tables written later (``LOCK TABLE ... IN ROW EXCLUSIVE MODE``)
  before the product locks, to keep lock-manager traffic out of the window:
  704 instead of 746 calls/s (hot);
* a statement-level trigger: the row triggers must fill ``balance_after`` and
  ``stock_after`` (NOT NULL, checked) before the row is stored; and dropping
  ``SET search_path`` from the SECURITY DEFINER triggers saves only 3-4 us per
  trigger call, not worth weakening them;
* dropping 0004's ``plan_cache_mode = force_generic_plan``: +9-10% per purchase
  (statements before the product lock were planned on every call), so it stays.

Unchanged: the signatures, owners and grants of ``purchase()``,
``record_payment()`` and ``credit_ledger_apply()`` (``CREATE OR REPLACE`` keeps
them), the lock order, every constraint, policy and trigger, and
``stock_movements_apply()``.  The downgrade runs migration 0002's and
0004's own SQL again (helpers and grants included) and puts back 0001's ledger
trigger, taken from 0001's own text.

Revision ID: 0005_lean_write_path
Revises: 0004_write_plans
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import earlier_migration, function_sql

revision: str = "0005_lean_write_path"
down_revision: str | None = "0004_write_plans"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

PURCHASE_ARGS = "bigint, bigint, bigint[], bigint[], bigint, text, text, text"
PAYMENT_ARGS = "bigint, bigint, bigint, text, text, text, text"

FUNCTIONS = r"""
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
    v_short    jsonb := '[]';
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
    -- of what the answer shows is built now, before the product locks.
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
    RETURN v_response;
END $$;

CREATE OR REPLACE FUNCTION record_payment(
    p_business_id bigint, p_customer_id bigint, p_amount bigint, p_method text,
    p_reference text, p_idempotency_key text, p_request_hash text
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
               'ownPaymentTermsDays', c.payment_terms_days, 'createdAt', c.created_at
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

    INSERT INTO payments (business_id, customer_id, amount, method, reference)
    VALUES (p_business_id, p_customer_id, p_amount, p_method, p_reference)
    RETURNING id, created_at INTO v_payment;
    INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)
    VALUES (p_business_id, p_customer_id, 'payment', -p_amount, v_payment.id);

    INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)
    SELECT p_business_id, p_idempotency_key, 'recordPayment', p_request_hash,
           jsonb_build_object('result', 'recorded',
               'payment', jsonb_build_object(
                   'id', v_payment.id, 'customerId', p_customer_id, 'amount', p_amount,
                   'method', p_method, 'reference', p_reference,
                   'createdAt', v_payment.created_at),
               'customer', v_customer.fixed_json || jsonb_build_object(
                   'balance', c.balance, 'oldestUnpaidAt', c.oldest_unpaid_at))
      FROM customers c
     WHERE c.business_id = p_business_id AND c.id = p_customer_id
    RETURNING response INTO STRICT v_response;
    RETURN v_response;
END $$;

-- Applies a ledger entry to the customer's cached balance.  Locking the customer
-- row (by the UPDATE, or the SELECT ... FOR UPDATE) orders the entries of one
-- customer, so they are numbered and timed in order.
CREATE OR REPLACE FUNCTION credit_ledger_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c customers%ROWTYPE;
    oldest timestamptz;
BEGIN
    -- SECURITY DEFINER: refuse a row of another tenant before touching anything,
    -- so the row lock and the error code cannot reveal another tenant's rows.
    IF NEW.business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- A debit (a charge, or a payment reversed) to a customer who already owes
    -- keeps the oldest unpaid charge, and everything else it changes follows from
    -- the row itself: one statement locks the row, applies the entry and returns
    -- the new totals.  (If it has to wait for the row, it evaluates all of this
    -- again on the newest version.)  Into c, not NEW: finding no row would set
    -- the targets to NULL.
    IF NEW.amount > 0 THEN
        UPDATE customers
           SET balance = balance + NEW.amount,
               charged_total = charged_total + NEW.amount,
               last_entry_at = greatest(NEW.created_at, last_entry_at)
         WHERE business_id = NEW.business_id AND id = NEW.customer_id AND balance > 0
        RETURNING * INTO c;
        IF FOUND THEN
            NEW.created_at := c.last_entry_at;
            NEW.balance_after := c.balance;
            NEW.charged_total := c.charged_total;
            NEW.credited_total := c.credited_total;
            RETURN NEW;
        END IF;
    END IF;

    -- Any other entry: lock the row first, so that the FIFO query below, a
    -- statement of its own, sees every entry committed before the lock.
    SELECT * INTO c FROM customers
     WHERE business_id = NEW.business_id AND id = NEW.customer_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'customer % not found', NEW.customer_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.created_at := greatest(NEW.created_at, c.last_entry_at);
    NEW.balance_after := c.balance + NEW.amount;
    NEW.charged_total := c.charged_total + greatest(NEW.amount, 0);
    NEW.credited_total := c.credited_total + greatest(-NEW.amount, 0);
    IF NEW.balance_after <= 0 THEN
        oldest := NULL;
    ELSIF NEW.amount > 0 AND c.balance > 0 THEN
        oldest := c.oldest_unpaid_at;
    ELSIF NEW.amount > 0 THEN
        oldest := NEW.created_at;
    ELSE
        SELECT l.created_at INTO oldest FROM credit_ledger l
         WHERE l.business_id = c.business_id AND l.customer_id = c.id
           AND l.amount > 0 AND l.charged_total > NEW.credited_total
         ORDER BY l.charged_total LIMIT 1;
    END IF;
    -- An UPDATE that names oldest_unpaid_at recomputes the generated column
    -- own_terms_due_at; most payments leave it alone, and so does this.
    IF oldest IS NOT DISTINCT FROM c.oldest_unpaid_at THEN
        UPDATE customers
           SET balance = NEW.balance_after,
               charged_total = NEW.charged_total,
               credited_total = NEW.credited_total,
               last_entry_at = NEW.created_at
         WHERE business_id = NEW.business_id AND id = NEW.customer_id;
    ELSE
        UPDATE customers
           SET balance = NEW.balance_after,
               charged_total = NEW.charged_total,
               credited_total = NEW.credited_total,
               oldest_unpaid_at = oldest,
               last_entry_at = NEW.created_at
         WHERE business_id = NEW.business_id AND id = NEW.customer_id;
    END IF;
    RETURN NEW;
END $$;

DROP FUNCTION customer_json(bigint, bigint);
DROP FUNCTION earlier_answer(bigint, text, text, text);
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)


def _old_ledger_trigger() -> str:
    """Migration 0001's ``credit_ledger_apply()``, cut from its own schema text, as a
    ``CREATE OR REPLACE``."""
    schema: str = earlier_migration("0001_core_schema").SCHEMA
    created = function_sql(schema, "CREATE FUNCTION credit_ledger_apply()")
    return "CREATE OR REPLACE " + created.removeprefix("CREATE ")


def downgrade() -> None:
    # 0002 creates the write functions with their helpers and grants; 0004 sets
    # their plans.  Dropped first, they come back exactly as those migrations left them.
    op.execute(
        f"DROP FUNCTION purchase({PURCHASE_ARGS}); DROP FUNCTION record_payment({PAYMENT_ARGS})"
    )
    purchases = earlier_migration("0002_purchase_and_payment")
    op.execute(purchases.FUNCTIONS)
    op.execute(purchases.GRANTS)
    earlier_migration("0004_write_plans").upgrade()
    op.execute(_old_ledger_trigger())
