-- Monthly partitions of audit_log (UTC months) from p_from's month through p_through's,
-- each created only if missing; answers the names created.  A month whose rows already
-- went to the DEFAULT partition is skipped with a notice (the rows cannot move: audit
-- rows are never deleted); the DEFAULT partition keeps taking them.  Every partition
-- gets what its parent has but does not hand down: forced RLS and the TRUNCATE guard.
-- Run by the owner (the migration, `credit-ledger audit partitions`).
CREATE OR REPLACE FUNCTION add_audit_partitions(p_from date, p_through date)
RETURNS SETOF text LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    v_month date := date_trunc('month', p_from);
    v_name  text;
    v_start timestamptz;
    v_end   timestamptz;
BEGIN
    WHILE v_month <= p_through LOOP
        v_name := format('audit_log_y%sm%s', to_char(v_month, 'YYYY'), to_char(v_month, 'MM'));
        v_start := v_month::timestamp AT TIME ZONE 'UTC';
        v_end := (v_month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
        IF to_regclass(v_name) IS NULL THEN
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                               v_name, v_start, v_end);
                PERFORM guard_audit_partition(v_name);
                RETURN NEXT v_name;
            EXCEPTION WHEN check_violation THEN
                RAISE NOTICE '% skipped: its month already has rows in audit_log_default', v_name;
            END;
        END IF;
        v_month := v_month + interval '1 month';
    END LOOP;
END $$;
