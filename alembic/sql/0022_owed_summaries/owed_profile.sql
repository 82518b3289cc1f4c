-- What customer p_customer owes now, debit by debit, summed by the 15-minute slot of
-- UTC time each debit was made in: first-in-first-out settlement as app/domain/overdue.py counts
-- it.  Without corrections the running totals say it (credits settle the first
-- p_credited units charged, so what is left of a debit is what its running
-- charged_total exceeds p_credited by, one range of credit_ledger_debits_idx);
-- with them, unsettled_debits() settles the history debit by debit.
CREATE FUNCTION owed_profile(p_business_id bigint, p_customer_id bigint,
                             p_credited bigint, p_corrected boolean)
RETURNS TABLE (made_slot timestamptz, unsettled bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT date_bin('15 minutes', l.created_at, '2000-01-01 00:00:00+00'),
           CAST(sum(least(l.amount, l.charged_total - p_credited)) AS bigint)
      FROM credit_ledger l
     WHERE NOT p_corrected
       AND l.business_id = p_business_id AND l.customer_id = p_customer_id
       AND l.amount > 0 AND l.charged_total > p_credited
     GROUP BY 1
    UNION ALL
    SELECT date_bin('15 minutes', d.made_at, '2000-01-01 00:00:00+00'),
           CAST(sum(d.unsettled) AS bigint)
      FROM unsettled_debits(p_business_id, p_customer_id, 'infinity') d
     WHERE p_corrected
     GROUP BY 1
$$;
