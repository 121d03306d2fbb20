"""The webhook credit's hot path as one SQL function (as the ledger's posting is): lock the
deposit, store the provider's event, post the credit through ledger_post and mark the deposit
credited, in one statement and one round trip instead of nine. Anything unexpected (the
deposit moved since the caller read it, an amount that differs) raises PY001 and rolls the
statement back; the caller then takes the general path in services.py, which decides."""

CREDIT_FUNCTION = r"""
CREATE FUNCTION payments_credit(p jsonb) RETURNS TABLE (outcome text, journal_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    d record;
    v_event bigint;
    v_journal bigint;
    v_created boolean;
BEGIN
    SELECT id, status, amount, fee, currency, client_id, provider, provider_ref INTO d
      FROM payments_deposit WHERE id = (p->>'deposit_id')::bigint FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'deposit % is gone', p->>'deposit_id' USING ERRCODE = 'PY001';
    END IF;

    INSERT INTO payments_paymentevent (provider, event_id, event_type, deposit_id, payload,
                                       received_at, processed_at, error)
    VALUES (p->>'provider', p->>'event_id', p->>'event_type', d.id, p->>'body', now(), now(), '')
    ON CONFLICT (provider, event_id) DO NOTHING
    RETURNING id INTO v_event;
    IF v_event IS NULL THEN
        RETURN QUERY SELECT 'duplicate'::text, NULL::bigint;
        RETURN;
    END IF;

    IF d.status NOT IN ('created', 'pending') OR d.amount <> (p->>'amount')::numeric
       OR d.fee <> (p->>'fee')::numeric OR d.currency <> p->>'currency'
       OR d.client_id <> (p->>'client_id')::bigint OR d.provider <> p->>'provider'
       OR d.provider_ref <> p->>'provider_ref' THEN
        RAISE EXCEPTION 'deposit % changed since it was read', d.id USING ERRCODE = 'PY001';
    END IF;

    SELECT l.journal_id, l.created INTO v_journal, v_created FROM ledger_post(p->'posting') l;
    IF NOT v_created THEN
        RAISE EXCEPTION 'deposit % was credited already', d.id USING ERRCODE = 'PY001';
    END IF;

    UPDATE payments_deposit SET
        status = 'succeeded', credit_journal_id = v_journal, credited_at = now(),
        updated_at = now(),
        payment_id = CASE WHEN payment_id = '' THEN coalesce(p->>'payment_id', '') ELSE payment_id END
     WHERE id = d.id;
    RETURN QUERY SELECT 'credited'::text, v_journal;
END $$;
"""

CREDIT_FUNCTION_REVERSE = "DROP FUNCTION IF EXISTS payments_credit(jsonb);"
