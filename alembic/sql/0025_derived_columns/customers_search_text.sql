-- What a customer search matches (0025): the lower-cased name and phone, kept by a
-- trigger on those columns instead of a generated column, for the reason of
-- customers_own_terms_due_at().  A write of search_text itself is computed over.
CREATE FUNCTION customers_search_text() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := lower(NEW.name) || E'\n' || lower(coalesce(NEW.phone, ''));
    RETURN NEW;
END $$;
