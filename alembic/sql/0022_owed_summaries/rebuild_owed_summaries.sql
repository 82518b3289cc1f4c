-- The bound business's owed_summaries computed from scratch: after rows were
-- written without their triggers (the bench's bulk history) and by migration 0022.
CREATE FUNCTION rebuild_owed_summaries(p_business_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM owed_changes WHERE business_id = p_business_id;
    DELETE FROM owed_summaries WHERE business_id = p_business_id;
    INSERT INTO owed_summaries (business_id, terms_days, span_minutes, made_from, unsettled, owing)
    SELECT p_business_id, e.terms_days, s.span_minutes,
           date_bin(make_interval(mins => s.span_minutes), e.made_slot, '2000-01-01 00:00:00+00'),
           sum(e.unsettled), sum(e.owing)
      FROM owed_expected(p_business_id) e CROSS JOIN (VALUES (15), (1440)) AS s (span_minutes)
     GROUP BY 2, 3, 4
    HAVING sum(e.unsettled) <> 0 OR sum(e.owing) <> 0;
END $$;
