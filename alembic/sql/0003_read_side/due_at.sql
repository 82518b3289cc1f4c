CREATE FUNCTION due_at(made_at timestamptz, terms_days integer) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ((made_at AT TIME ZONE 'UTC') + make_interval(days => terms_days)) AT TIME ZONE 'UTC';
