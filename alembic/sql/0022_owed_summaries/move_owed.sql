-- All that customer p_customer_id owes, taken out of (p_sign -1) or put into (+1)
-- the summaries under terms p_terms_days: before and after a correction, which
-- changes how earlier entries count, and when the customer's terms change.
-- plpgsql, as note_owed().
CREATE FUNCTION move_owed(p_business_id bigint, p_customer_id bigint, p_terms_days integer,
                          p_sign integer, p_credited bigint, p_corrected boolean,
                          p_oldest timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO owed_changes (business_id, terms_days, made_slot, unsettled, owing)
    SELECT p_business_id, p_terms_days, p.made_slot, p_sign * p.unsettled, 0
      FROM owed_profile(p_business_id, p_customer_id, p_credited, p_corrected) p
    UNION ALL
    SELECT p_business_id, p_terms_days,
           date_bin('15 minutes', p_oldest, '2000-01-01 00:00:00+00'), 0, p_sign
     WHERE p_oldest IS NOT NULL;
END $$;
