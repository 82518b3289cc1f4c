-- Adds one transaction's part to the sales summary of its 15-minute slot.
--
-- d carries the deltas (NULL counts as zero) and the instant they happened at in
-- d.slot; the row is the slot (UTC, 15-minute aligned: every store's midnight is a
-- slot boundary) and a stripe of the calling session, so concurrent writers in one
-- business rarely wait for each other, and a transaction only ever writes the rows
-- of its own stripe, in time order: summary rows never take part in a deadlock.
-- SECURITY DEFINER: the service role may read the summaries but never write them.
CREATE FUNCTION add_to_sales_summary(d sales_summaries) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF d.business_id IS DISTINCT FROM nullif(current_setting('app.business_id', true), '')::bigint THEN
        RAISE EXCEPTION 'row belongs to another tenant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO sales_summaries AS s (business_id, slot, stripe, bills, paid_in_full, partly_paid, on_credit, gross, discount, tax, total, paid, credit, voids, voided, returns, returned, received_cash, received_upi, received_card, received_bank_transfer, received_cheque, received_other, refunded_cash, refunded_upi, refunded_card, refunded_bank_transfer, refunded_cheque, refunded_other, reversed_cash, reversed_upi, reversed_card, reversed_bank_transfer, reversed_cheque, reversed_other)
    VALUES (d.business_id, date_bin('15 minutes', d.slot, '2000-01-01 00:00:00+00'),
            pg_backend_pid() % 16,
            coalesce(d.bills, 0),
            coalesce(d.paid_in_full, 0),
            coalesce(d.partly_paid, 0),
            coalesce(d.on_credit, 0),
            coalesce(d.gross, 0),
            coalesce(d.discount, 0),
            coalesce(d.tax, 0),
            coalesce(d.total, 0),
            coalesce(d.paid, 0),
            coalesce(d.credit, 0),
            coalesce(d.voids, 0),
            coalesce(d.voided, 0),
            coalesce(d.returns, 0),
            coalesce(d.returned, 0),
            coalesce(d.received_cash, 0),
            coalesce(d.received_upi, 0),
            coalesce(d.received_card, 0),
            coalesce(d.received_bank_transfer, 0),
            coalesce(d.received_cheque, 0),
            coalesce(d.received_other, 0),
            coalesce(d.refunded_cash, 0),
            coalesce(d.refunded_upi, 0),
            coalesce(d.refunded_card, 0),
            coalesce(d.refunded_bank_transfer, 0),
            coalesce(d.refunded_cheque, 0),
            coalesce(d.refunded_other, 0),
            coalesce(d.reversed_cash, 0),
            coalesce(d.reversed_upi, 0),
            coalesce(d.reversed_card, 0),
            coalesce(d.reversed_bank_transfer, 0),
            coalesce(d.reversed_cheque, 0),
            coalesce(d.reversed_other, 0))
    ON CONFLICT (business_id, slot, stripe) DO UPDATE SET
        bills = s.bills + EXCLUDED.bills,
        paid_in_full = s.paid_in_full + EXCLUDED.paid_in_full,
        partly_paid = s.partly_paid + EXCLUDED.partly_paid,
        on_credit = s.on_credit + EXCLUDED.on_credit,
        gross = s.gross + EXCLUDED.gross,
        discount = s.discount + EXCLUDED.discount,
        tax = s.tax + EXCLUDED.tax,
        total = s.total + EXCLUDED.total,
        paid = s.paid + EXCLUDED.paid,
        credit = s.credit + EXCLUDED.credit,
        voids = s.voids + EXCLUDED.voids,
        voided = s.voided + EXCLUDED.voided,
        returns = s.returns + EXCLUDED.returns,
        returned = s.returned + EXCLUDED.returned,
        received_cash = s.received_cash + EXCLUDED.received_cash,
        received_upi = s.received_upi + EXCLUDED.received_upi,
        received_card = s.received_card + EXCLUDED.received_card,
        received_bank_transfer = s.received_bank_transfer + EXCLUDED.received_bank_transfer,
        received_cheque = s.received_cheque + EXCLUDED.received_cheque,
        received_other = s.received_other + EXCLUDED.received_other,
        refunded_cash = s.refunded_cash + EXCLUDED.refunded_cash,
        refunded_upi = s.refunded_upi + EXCLUDED.refunded_upi,
        refunded_card = s.refunded_card + EXCLUDED.refunded_card,
        refunded_bank_transfer = s.refunded_bank_transfer + EXCLUDED.refunded_bank_transfer,
        refunded_cheque = s.refunded_cheque + EXCLUDED.refunded_cheque,
        refunded_other = s.refunded_other + EXCLUDED.refunded_other,
        reversed_cash = s.reversed_cash + EXCLUDED.reversed_cash,
        reversed_upi = s.reversed_upi + EXCLUDED.reversed_upi,
        reversed_card = s.reversed_card + EXCLUDED.reversed_card,
        reversed_bank_transfer = s.reversed_bank_transfer + EXCLUDED.reversed_bank_transfer,
        reversed_cheque = s.reversed_cheque + EXCLUDED.reversed_cheque,
        reversed_other = s.reversed_other + EXCLUDED.reversed_other;
END $$;
