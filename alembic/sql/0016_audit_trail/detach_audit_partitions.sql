-- Detaches every monthly partition of audit_log that ends on or before p_before (the
-- first instant of a UTC month), leaving each a standalone table to archive; answers
-- their names, oldest first.  The DEFAULT partition is never detached.  A detached
-- table loses the row triggers it had from its parent (PostgreSQL drops cloned
-- triggers) so that it can be archived and dropped; it keeps its RLS.
CREATE OR REPLACE FUNCTION detach_audit_partitions(p_before timestamptz)
RETURNS SETOF text LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    v_partition record;
BEGIN
    FOR v_partition IN
        SELECT c.relname,
               CAST(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')
                    AS timestamptz) AS upper_bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_log'::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
        ORDER BY 2
    LOOP
        CONTINUE WHEN v_partition.upper_bound > p_before;
        EXECUTE format('ALTER TABLE audit_log DETACH PARTITION %I', v_partition.relname);
        RETURN NEXT v_partition.relname;
    END LOOP;
END $$;
