-- The audit entry of a one-call mutation (purchase(), record_payment()), written by
-- the same statement as the call, so in its transaction and without another round
-- trip while the call's row locks are held:
--     WITH call(answer) AS MATERIALIZED (SELECT purchase(…)) SELECT audit_answer(answer, …) FROM call
-- The outcome is p_outcomes' name for the answer's "result"; the target id is read
-- from the answer at p_target_path (NULL when the answer has none, e.g. a refusal).
-- Answers p_answer unchanged.
CREATE OR REPLACE FUNCTION audit_answer(
    p_answer jsonb, p_business_id bigint, p_actor_user_id bigint, p_actor_key_id bigint,
    p_role text, p_request_id text, p_client_ip inet, p_operation text, p_target_type text,
    p_target_path text[], p_outcomes jsonb, p_input jsonb
) RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM record_audit(p_business_id, p_actor_user_id, p_actor_key_id, p_role, p_request_id,
                         p_client_ip, p_operation, p_target_type,
                         CAST(p_answer #>> p_target_path AS bigint),
                         coalesce(p_outcomes ->> (p_answer ->> 'result'), p_answer ->> 'result'),
                         p_input, NULL, NULL);
    RETURN p_answer;
END $$;
