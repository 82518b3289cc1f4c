-- What a product search matches (0025): the lower-cased name, SKU and barcode, kept
-- by a trigger on those columns instead of a generated column, so that a sale's
-- stock update no longer reads and plans its expression (customers_own_terms_due_at()
-- says why).  A write of search_text itself is computed over.
CREATE FUNCTION products_search_text() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := lower(NEW.name) || E'\n' || lower(NEW.sku) || E'\n'
                       || lower(coalesce(NEW.barcode, ''));
    RETURN NEW;
END $$;
