-- The 6 rules every row of audit_log must pass, in place of its 6 CHECK constraints:
-- the table's one CHECK, audit_log_rules, calls this with the row's columns (0023,
-- where the migration says why).  A broken rule is refused as its constraint was:
-- SQLSTATE 23514 naming it; like a CHECK, a rule whose expression is NULL passes.
CREATE FUNCTION audit_log_rules(
    actor_user_id bigint,
    actor_key_id bigint,
    role text,
    request_id text,
    operation text,
    target_type text,
    outcome text
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (num_nonnulls(actor_user_id, actor_key_id) = 1) THEN
        broken := 'audit_log_check';
    ELSIF NOT ((length(operation) >= 1) AND (length(operation) <= 100)) THEN
        broken := 'audit_log_operation_check';
    ELSIF NOT ((length(outcome) >= 1) AND (length(outcome) <= 100)) THEN
        broken := 'audit_log_outcome_check';
    ELSIF NOT (length(request_id) <= 64) THEN
        broken := 'audit_log_request_id_check';
    ELSIF NOT (role = ANY (ARRAY['owner'::text, 'cashier'::text, 'staff'::text, 'viewer'::text])) THEN
        broken := 'audit_log_role_check';
    ELSIF NOT (length(target_type) <= 100) THEN
        broken := 'audit_log_target_type_check';
    ELSE
        RETURN true;
    END IF;
    RAISE EXCEPTION 'new row for relation "audit_log" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'audit_log';
END $$;
