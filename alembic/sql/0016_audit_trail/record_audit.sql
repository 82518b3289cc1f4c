-- One audit entry, in the caller's transaction: a mutation's effect and its entry
-- commit together or not at all.  Binds the tenant itself, so it can also be the
-- only statement of a transaction (a refusal, which wrote nothing else).  PL/pgSQL,
-- so that its insert is planned once per session, not on every call.
CREATE OR REPLACE FUNCTION record_audit(
    p_business_id bigint, p_actor_user_id bigint, p_actor_key_id bigint, p_role text,
    p_request_id text, p_client_ip inet, p_operation text, p_target_type text,
    p_target_id bigint, p_outcome text, p_input jsonb, p_before jsonb, p_after jsonb
) RETURNS void LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM set_config('app.business_id', p_business_id::text, true);
    INSERT INTO audit_log (business_id, actor_user_id, actor_key_id, role, request_id,
                           client_ip, operation, target_type, target_id, outcome, input,
                           before, after)
    VALUES (p_business_id, p_actor_user_id, p_actor_key_id, p_role, p_request_id,
            p_client_ip, p_operation, p_target_type, p_target_id, p_outcome, p_input,
            p_before, p_after);
END $$;
