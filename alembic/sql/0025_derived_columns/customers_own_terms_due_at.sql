-- When the oldest unpaid charge of a customer with their own payment terms falls
-- due (0025), kept by a trigger on the columns it is made of instead of a generated
-- column: PostgreSQL reads and plans a table's generation expressions in every
-- statement that updates a row of it, whatever columns it sets, and the ledger
-- updates the customer's balance in every sale and payment.  A write of
-- own_terms_due_at itself is computed over.
CREATE FUNCTION customers_own_terms_due_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.own_terms_due_at := due_at(NEW.oldest_unpaid_at, NEW.payment_terms_days);
    RETURN NEW;
END $$;
