-- What owed_summaries and owed_changes together must hold for the bound business,
-- by terms and slot, computed from scratch: every customer's owed_profile(), and
-- their oldest unpaid debit.  rebuild_owed_summaries() writes it; app.services.verify
-- compares it with what the triggers kept.
CREATE FUNCTION owed_expected(p_business_id bigint)
RETURNS TABLE (terms_days integer, made_slot timestamptz, unsettled bigint, owing integer)
LANGUAGE sql STABLE AS $$
    SELECT x.terms_days, x.made_slot, CAST(sum(x.unsettled) AS bigint),
           CAST(sum(x.owing) AS integer)
      FROM (
        SELECT c.payment_terms_days AS terms_days, p.made_slot, p.unsettled, 0 AS owing
          FROM customers c
         CROSS JOIN LATERAL owed_profile(c.business_id, c.id, c.credited_total,
                                         c.corrected_at IS NOT NULL) p
         WHERE c.business_id = p_business_id AND c.balance > 0
        UNION ALL
        SELECT c.payment_terms_days,
               date_bin('15 minutes', c.oldest_unpaid_at, '2000-01-01 00:00:00+00'), 0, 1
          FROM customers c
         WHERE c.business_id = p_business_id AND c.oldest_unpaid_at IS NOT NULL
      ) x
     GROUP BY 1, 2
$$;
