-- One change to what a business is owed: p_unsettled more (or less) owed on debits
-- made at p_made_at, and the customer's oldest unpaid debit moved from p_oldest_was
-- to p_oldest (either may be NULL: nothing owed).  Written as rows of owed_changes
-- (only inserts: concurrent sales never wait on each other here), which
-- fold_owed_changes() adds into owed_summaries now and then.  plpgsql, not sql:
-- its plan is then kept for the session instead of made again at every call.
CREATE FUNCTION note_owed(p_business_id bigint, p_terms_days integer, p_made_at timestamptz,
                          p_unsettled bigint, p_oldest_was timestamptz, p_oldest timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO owed_changes (business_id, terms_days, made_slot, unsettled, owing)
    SELECT p_business_id, p_terms_days, date_bin('15 minutes', x.made_at, '2000-01-01 00:00:00+00'),
           x.unsettled, x.owing
      FROM (VALUES (p_made_at, p_unsettled, 0),
                   (p_oldest_was, 0, -1),
                   (p_oldest, 0, 1)) AS x (made_at, unsettled, owing)
     WHERE x.made_at IS NOT NULL
       AND (x.unsettled <> 0
            OR (x.owing <> 0 AND p_oldest IS DISTINCT FROM p_oldest_was));
END $$;
