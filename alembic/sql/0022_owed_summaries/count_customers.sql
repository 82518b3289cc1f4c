-- Keeps customer_counts: customers not archived, per business.  For a statement
-- inserting or deleting (its transition table, so a bulk insert adds once) and
-- for each row archived or brought back.
CREATE FUNCTION count_customers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO customer_counts AS n (business_id, active)
        VALUES (NEW.business_id, CASE WHEN NEW.archived_at IS NULL THEN 1 ELSE -1 END)
            ON CONFLICT (business_id) DO UPDATE SET active = n.active + EXCLUDED.active;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO customer_counts AS n (business_id, active)
        SELECT business_id, count(*) FILTER (WHERE archived_at IS NULL) FROM added GROUP BY 1
            ON CONFLICT (business_id) DO UPDATE SET active = n.active + EXCLUDED.active;
    ELSE
        INSERT INTO customer_counts AS n (business_id, active)
        SELECT business_id, -count(*) FILTER (WHERE archived_at IS NULL) FROM gone GROUP BY 1
            ON CONFLICT (business_id) DO UPDATE SET active = n.active + EXCLUDED.active;
    END IF;
    RETURN NULL;
END $$;
