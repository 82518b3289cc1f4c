-- What a customer owes at p_as_of, debit by debit: app/domain/overdue.py's
-- _unsettled() in SQL, corrections included.  Only entries made at or before
-- p_as_of count.  A credit that corrects a debit (a void's reversal of a charge, a
-- return, which points at its own order's charge through order_returns) reduces
-- that debit; a debit that corrects a credit (a reversed payment) cancels it; a
-- correction is itself neither debit nor credit.  What is left of the credits
-- settles the first units debited, in ledger order (charged_total, which rises
-- with every debit).  Rows: each debit not fully settled, oldest first, with what
-- is unsettled of it.  It reads the customer's whole history, so the read side
-- calls it only for customers with a correction counting at p_as_of (their
-- corrected_at); running totals answer for everyone else.  plpgsql, so that it is
-- never inlined: a read statement then carries one small function scan in the
-- branch it never takes for anyone else, not this whole plan to set up on every
-- execution (that cost the customers page about 20%), and the plan is cached
-- per session.
CREATE FUNCTION unsettled_debits(p_business_id bigint, p_customer_id bigint,
                                 p_as_of timestamptz)
RETURNS TABLE (made_at timestamptz, charged_total bigint, unsettled bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH entries AS (
        SELECT l.id, l.kind, l.amount, l.created_at, l.charged_total, l.reverses_entry_id,
               l.return_id
          FROM credit_ledger l
         WHERE l.business_id = p_business_id AND l.customer_id = p_customer_id
           AND l.created_at <= p_as_of
    ),
    corrections AS (
        SELECT e.amount, coalesce(e.reverses_entry_id, charge.id) AS corrects
          FROM entries e
          LEFT JOIN order_returns r ON r.business_id = p_business_id AND r.id = e.return_id
          LEFT JOIN credit_ledger charge
                 ON charge.business_id = p_business_id AND charge.order_id = r.order_id
         WHERE e.kind IN ('reversal', 'return')
    ),
    reduced AS (
        SELECT corrects, CAST(sum(-amount) AS bigint) AS amount FROM corrections WHERE amount < 0
         GROUP BY corrects
    ),
    counted AS (
        SELECT e.created_at, e.charged_total, e.amount - coalesce(r.amount, 0) AS amount
          FROM entries e LEFT JOIN reduced r ON r.corrects = e.id
         WHERE e.kind NOT IN ('reversal', 'return')
           AND NOT EXISTS (SELECT FROM corrections x WHERE x.corrects = e.id AND x.amount > 0)
    ),
    -- Materialized: read once, not once per debit.
    credited AS MATERIALIZED (
        SELECT CAST(coalesce(sum(-amount), 0) AS bigint) AS total FROM counted WHERE amount < 0
    ),
    debits AS (
        SELECT d.created_at, d.charged_total, d.amount,
               CAST(sum(d.amount) OVER (ORDER BY d.charged_total) AS bigint) AS through
          FROM counted d WHERE d.amount > 0
    )
    SELECT d.created_at, d.charged_total, least(d.amount, d.through - credited.total)
      FROM debits d, credited
     WHERE d.through > credited.total
     ORDER BY d.charged_total;
END $$;
