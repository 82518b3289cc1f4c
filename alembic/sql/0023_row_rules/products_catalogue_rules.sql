-- A product's catalogue rules, checked where its catalogue is written (0023).
--
-- They were CHECK constraints, and PostgreSQL reads and plans every CHECK of a
-- table again in each statement that writes a row of it: every sale's stock
-- movements paid for the name, SKU, barcode, unit... rules of each product they
-- moved (a tenth of a purchase's work in the database; bench/README.md).  Fired by
-- `BEFORE INSERT OR UPDATE OF` these columns, the rules run only when one of them is
-- written.  The rules on amounts and quantities (stock, price, cost price and
-- minimum stock >= 0) stay CHECKs, as docs/design.md has it: together they cost a
-- sale about 1% (bench/README.md).  A refusal is the CHECK's: SQLSTATE 23514 with
-- the constraint's old name, and, like a CHECK, a rule whose expression is NULL
-- passes.
CREATE FUNCTION products_catalogue_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    broken text;
BEGIN
    IF NOT (length(btrim(NEW.name)) BETWEEN 1 AND 200) THEN
        broken := 'products_name_check';
    ELSIF NOT (length(btrim(NEW.sku)) BETWEEN 1 AND 64) THEN
        broken := 'products_sku_check';
    ELSIF NOT (NEW.tax_rate BETWEEN 0 AND 100) THEN
        broken := 'products_tax_rate_check';
    ELSIF NOT (length(NEW.description) <= 2000) THEN
        broken := 'products_description_check';
    ELSIF NOT (length(btrim(NEW.category)) BETWEEN 1 AND 100) THEN
        broken := 'products_category_check';
    ELSIF NOT (NEW.unit IN ('PCS', 'KG', 'G', 'L', 'ML', 'DOZEN', 'PACK', 'BOX')) THEN
        broken := 'products_unit_check';
    ELSIF NOT (length(NEW.barcode) BETWEEN 1 AND 64 AND NEW.barcode !~ '[[:cntrl:]]') THEN
        broken := 'products_barcode_check';
    ELSIF NOT (NEW.expiry_date >= DATE '2000-01-01') THEN
        broken := 'products_expiry_date_check';
    ELSIF NOT (NEW.status IN ('ACTIVE', 'INACTIVE', 'DISCONTINUED')) THEN
        broken := 'products_status_check';
    ELSE
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'new row for relation "products" violates check constraint "%"', broken
        USING ERRCODE = 'check_violation', CONSTRAINT = broken, TABLE = 'products',
              SCHEMA = TG_TABLE_SCHEMA;
END $$;
