-- A failed sign-in counts against each subject (lock them in the order given: the
-- caller sorts); p_limit failures within the window lock the subject for
-- p_lockout_seconds, doubling with each lockout up to p_max_lockout_seconds.  A day
-- without failures forgets past lockouts.  Returns the seconds until the latest
-- lock ends (0 when none).
CREATE FUNCTION sign_in_failed(
    p_subjects text[], p_limit integer, p_window_seconds double precision,
    p_lockout_seconds double precision, p_max_lockout_seconds double precision
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    s text;
    t sign_in_throttle%ROWTYPE;
    longest timestamptz := now();
BEGIN
    FOREACH s IN ARRAY p_subjects LOOP
        INSERT INTO sign_in_throttle (subject, failures, window_start)
        VALUES (s, 0, now()) ON CONFLICT (subject) DO NOTHING;
        SELECT * INTO t FROM sign_in_throttle WHERE subject = s FOR UPDATE;
        IF t.window_start + interval '1 day' < now() THEN
            t.lockouts := 0;
        END IF;
        IF t.window_start + make_interval(secs => p_window_seconds) <= now() THEN
            t.failures := 0;
            t.window_start := now();
        END IF;
        t.failures := t.failures + 1;
        IF t.failures >= p_limit THEN
            t.locked_until := now() + make_interval(
                secs => least(p_lockout_seconds * 2 ^ least(t.lockouts, 30), p_max_lockout_seconds));
            t.lockouts := t.lockouts + 1;
            t.failures := 0;
            t.window_start := now();
        END IF;
        UPDATE sign_in_throttle
           SET failures = t.failures, window_start = t.window_start,
               lockouts = t.lockouts, locked_until = t.locked_until
         WHERE subject = s;
        longest := greatest(longest, t.locked_until);
    END LOOP;
    RETURN extract(epoch FROM longest - now());
END $$;
