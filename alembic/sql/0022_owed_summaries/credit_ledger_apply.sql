-- 0015's, with the lines marked 0022: every entry notes what it changes in what
-- its business is owed (owed_changes, summed by owed_summaries for the dashboard).
-- Applies a ledger entry to the customer's cached balance.  Locking the customer
-- row (by the UPDATE, or the SELECT ... FOR UPDATE) orders the entries of one
-- customer, so they are numbered and timed in order.
CREATE OR REPLACE FUNCTION credit_ledger_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c customers%ROWTYPE;
    oldest timestamptz;
    correction boolean := NEW.kind IN ('reversal', 'return');            -- 0022
BEGIN
    -- SECURITY DEFINER: refuse a row of another tenant before touching anything,
    -- so the row lock and the error code cannot reveal another tenant's rows.
    IF NEW.business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- A debit (a charge, not a payment reversed: a correction -- 0022) to a
    -- customer who already owes keeps the oldest unpaid charge, and everything
    -- else it changes follows from the row itself: one statement locks the row,
    -- applies the entry and returns the new totals.  (If it has to wait for the
    -- row, it evaluates all of this again on the newest version.)  Into c, not
    -- NEW: finding no row would set the targets to NULL.
    IF NEW.amount > 0 AND NOT correction THEN                             -- 0022
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
            -- Owed before it, so all of it is owed.                          0022
            IF NOT c.owed_pending THEN                                     -- 0022
                INSERT INTO owed_changes                                   -- 0022
                       (business_id, terms_days, made_slot, unsettled, owing) -- 0022
                VALUES (NEW.business_id, c.payment_terms_days,             -- 0022
                        date_bin('15 minutes', NEW.created_at, '2000-01-01 00:00:00+00'), -- 0022
                        NEW.amount, 0);                                    -- 0022
            END IF;                                                        -- 0022
            IF NEW.id % 256 = 0 THEN                                       -- 0022
                PERFORM fold_owed_changes(NEW.business_id);                -- 0022
            END IF;                                                        -- 0022
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
    ELSIF correction THEN                                                 -- 0022
        oldest := c.oldest_unpaid_at;  -- credit_ledger_correct() sets it -- 0015
    ELSIF c.corrected_at IS NOT NULL THEN                                 -- 0015
        -- Running totals do not see corrections: the first debit that this   0015
        -- credit leaves partly unsettled, from what was unsettled before it. 0015
        SELECT u.made_at INTO oldest FROM (                               -- 0015
            SELECT d.made_at, d.charged_total,                            -- 0015
                   sum(d.unsettled) OVER (ORDER BY d.charged_total) AS through -- 0015
              FROM unsettled_debits(c.business_id, c.id, 'infinity') d    -- 0015
        ) u WHERE u.through > -NEW.amount ORDER BY u.charged_total LIMIT 1; -- 0015
    ELSE
        SELECT l.created_at INTO oldest FROM credit_ledger l
         WHERE l.business_id = c.business_id AND l.customer_id = c.id
           AND l.amount > 0 AND l.charged_total > NEW.credited_total
         ORDER BY l.charged_total LIMIT 1;
    END IF;

    -- What the business is owed.  A correction changes how earlier entries     0022
    -- count: all the customer owed goes out now and comes back, as counted     0022
    -- after the statement, in credit_ledger_correct() (owed_pending marks     0022
    -- that, so a statement of several corrections moves it once).             0022
    IF c.owed_pending THEN                                                -- 0022
        NULL;  -- credit_ledger_correct() counts the customer again           0022
    ELSIF correction THEN                                                 -- 0022
        PERFORM move_owed(c.business_id, c.id, c.payment_terms_days, -1,  -- 0022
                          c.credited_total, c.corrected_at IS NOT NULL,   -- 0022
                          c.oldest_unpaid_at);                            -- 0022
    ELSIF NEW.amount > 0 THEN                                             -- 0022
        -- A debit: owed, but for what a surplus of credit settles at once.    0022
        PERFORM note_owed(c.business_id, c.payment_terms_days, NEW.created_at, -- 0022
                          least(NEW.amount, greatest(NEW.balance_after, 0)), -- 0022
                          c.oldest_unpaid_at, oldest);                    -- 0022
    ELSE                                                                  -- 0022
        -- A credit settles the oldest debits first: each debit's part of the  0022
        -- units it settles (from the first unsettled one on).                 0022
        INSERT INTO owed_changes (business_id, terms_days, made_slot, unsettled, owing) -- 0022
        SELECT c.business_id, c.payment_terms_days,                       -- 0022
               date_bin('15 minutes', s.made_at, '2000-01-01 00:00:00+00'), -sum(s.settled), 0 -- 0022
          FROM (                                                          -- 0022
            -- Running totals: debits cover (charged_total - amount,           0022
            -- charged_total]; the credit settles (credited before, after].    0022
            SELECT l.created_at AS made_at,                               -- 0022
                   least(l.charged_total, NEW.credited_total)             -- 0022
                   - greatest(l.charged_total - l.amount, c.credited_total) AS settled -- 0022
              FROM credit_ledger l                                        -- 0022
             WHERE c.corrected_at IS NULL                                 -- 0022
               AND l.business_id = c.business_id AND l.customer_id = c.id -- 0022
               AND l.amount > 0 AND l.charged_total > c.credited_total    -- 0022
               AND l.charged_total <= NEW.credited_total                  -- 0022
            UNION ALL                                                     -- 0022
            (SELECT l.created_at,                                         -- 0022
                    NEW.credited_total - greatest(l.charged_total - l.amount, c.credited_total) -- 0022
               FROM credit_ledger l                                       -- 0022
              WHERE c.corrected_at IS NULL                                -- 0022
                AND l.business_id = c.business_id AND l.customer_id = c.id -- 0022
                AND l.amount > 0 AND l.charged_total > NEW.credited_total -- 0022
              ORDER BY l.charged_total LIMIT 1)                           -- 0022
            UNION ALL                                                     -- 0022
            -- Corrections counted: the first unsettled debits, in order.       0022
            SELECT u.made_at, least(u.unsettled, -NEW.amount - (u.through - u.unsettled)) -- 0022
              FROM (SELECT d.made_at, d.unsettled,                        -- 0022
                           sum(d.unsettled) OVER (ORDER BY d.charged_total) AS through -- 0022
                      FROM unsettled_debits(c.business_id, c.id, 'infinity') d -- 0022
                     WHERE c.corrected_at IS NOT NULL) u                  -- 0022
             WHERE u.through - u.unsettled < -NEW.amount                  -- 0022
          ) s                                                             -- 0022
         WHERE s.settled > 0                                              -- 0022
         GROUP BY 3;                                                      -- 0022
        PERFORM note_owed(c.business_id, c.payment_terms_days, NULL, 0,   -- 0022
                          c.oldest_unpaid_at, oldest);                    -- 0022
    END IF;                                                               -- 0022

    -- An UPDATE that names oldest_unpaid_at recomputes the generated column
    -- own_terms_due_at; most payments leave it alone, and so does this.
    IF oldest IS NOT DISTINCT FROM c.oldest_unpaid_at THEN
        UPDATE customers
           SET balance = NEW.balance_after,
               charged_total = NEW.charged_total,
               credited_total = NEW.credited_total,
               last_entry_at = NEW.created_at,
               owed_pending = owed_pending OR correction                  -- 0022
         WHERE business_id = NEW.business_id AND id = NEW.customer_id;
    ELSE
        UPDATE customers
           SET balance = NEW.balance_after,
               charged_total = NEW.charged_total,
               credited_total = NEW.credited_total,
               oldest_unpaid_at = oldest,
               last_entry_at = NEW.created_at,
               owed_pending = owed_pending OR correction                  -- 0022
         WHERE business_id = NEW.business_id AND id = NEW.customer_id;
    END IF;
    IF NEW.id % 256 = 0 THEN                                              -- 0022
        PERFORM fold_owed_changes(NEW.business_id);                       -- 0022
    END IF;                                                               -- 0022
    RETURN NEW;
END $$;
