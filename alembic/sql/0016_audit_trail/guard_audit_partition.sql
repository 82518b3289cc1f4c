-- What a partition of audit_log needs of its own: reads through the parent obey the
-- parent's policy, but a partition read or truncated by name obeys only its own.
CREATE OR REPLACE FUNCTION guard_audit_partition(p_name text)
RETURNS void LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', p_name);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', p_name);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (business_id = '
                   'nullif(current_setting(''app.business_id'', true), '''')::bigint) WITH CHECK '
                   '(business_id = nullif(current_setting(''app.business_id'', true), '''')::bigint)',
                   p_name);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION reject_change()', p_name || '_no_truncate', p_name);
END $$;
