"""SQL the ledger's migration installs: the walls PostgreSQL enforces even if Python has a
bug, and the posting function that makes the hot path one round trip.

Error codes raised here (SQLSTATE, class "LG"), mapped to exceptions in exceptions.py:
LG001 unknown account, LG002 account not open, LG004 amount has
more decimals than the currency, LG005 currency mismatch, LG006 unbalanced journal,
LG007 idempotency key reused with another request, LG008 immutable row.
"""

WALLS = r"""
-- Not a wall, but where the posting's time goes: every posting updates its accounts' counters.
-- With full pages such an update can't stay on its page, so each one also inserts into all
-- eight indexes of the table; with room left on the page it is a HOT update and touches
-- none. Measured with bench/ledger.py: 9% of the updates were HOT at the default 100, all of
-- them at 70, and the posting function's CPU went from 490 to 380 us.
ALTER TABLE wallets_ledgeraccount SET (fillfactor = 70);

-- An entry's currency is its account's: a composite foreign key, checked on every insert.
ALTER TABLE wallets_entry ADD CONSTRAINT wallets_entry_account_currency
    FOREIGN KEY (account_id, currency_id) REFERENCES wallets_ledgeraccount (id, currency_id);

-- Journals and entries are never updated or deleted; accounts are never deleted.
CREATE FUNCTION wallets_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows in % are immutable: post a reversal instead', TG_TABLE_NAME
        USING ERRCODE = 'LG008';
END $$;

-- TRUNCATE too, unless a maintenance session says otherwise (test runs flush their
-- database between tests; production never sets this).
CREATE FUNCTION wallets_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('ledger.allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger table % cannot be truncated', TG_TABLE_NAME USING ERRCODE = 'LG008';
END $$;

CREATE TRIGGER wallets_journal_immutable BEFORE UPDATE OR DELETE ON wallets_journal
    FOR EACH ROW EXECUTE FUNCTION wallets_immutable();
CREATE TRIGGER wallets_entry_immutable BEFORE UPDATE OR DELETE ON wallets_entry
    FOR EACH ROW EXECUTE FUNCTION wallets_immutable();
CREATE TRIGGER wallets_account_not_deleted BEFORE DELETE ON wallets_ledgeraccount
    FOR EACH ROW EXECUTE FUNCTION wallets_immutable();
CREATE TRIGGER wallets_journal_no_truncate BEFORE TRUNCATE ON wallets_journal
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_no_truncate();
CREATE TRIGGER wallets_entry_no_truncate BEFORE TRUNCATE ON wallets_entry
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_no_truncate();
CREATE TRIGGER wallets_account_no_truncate BEFORE TRUNCATE ON wallets_ledgeraccount
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_no_truncate();

-- Debits equal credits per journal, currency and phase, checked at COMMIT (django-hordak's
-- deferred trigger), so the legs of one journal may be inserted one by one.
CREATE FUNCTION wallets_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT currency_id, phase,
           sum(CASE WHEN direction = 'D' THEN amount ELSE 0 END) AS debits,
           sum(CASE WHEN direction = 'C' THEN amount ELSE 0 END) AS credits
      INTO bad
      FROM wallets_entry
     WHERE journal_id = NEW.journal_id
     GROUP BY currency_id, phase
    HAVING sum(CASE WHEN direction = 'D' THEN amount ELSE -amount END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance in % (%): debits %, credits %',
            NEW.journal_id, bad.currency_id, bad.phase, bad.debits, bad.credits
            USING ERRCODE = 'LG006';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER wallets_entry_balanced AFTER INSERT ON wallets_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallets_entry_balanced();
"""

WALLS_REVERSE = r"""
DROP TRIGGER IF EXISTS wallets_entry_balanced ON wallets_entry;
DROP FUNCTION IF EXISTS wallets_entry_balanced();
DROP TRIGGER IF EXISTS wallets_account_no_truncate ON wallets_ledgeraccount;
DROP TRIGGER IF EXISTS wallets_entry_no_truncate ON wallets_entry;
DROP TRIGGER IF EXISTS wallets_journal_no_truncate ON wallets_journal;
DROP TRIGGER IF EXISTS wallets_account_not_deleted ON wallets_ledgeraccount;
DROP TRIGGER IF EXISTS wallets_entry_immutable ON wallets_entry;
DROP TRIGGER IF EXISTS wallets_journal_immutable ON wallets_journal;
DROP FUNCTION IF EXISTS wallets_no_truncate();
DROP FUNCTION IF EXISTS wallets_immutable();
ALTER TABLE wallets_entry DROP CONSTRAINT IF EXISTS wallets_entry_account_currency;
ALTER TABLE wallets_ledgeraccount RESET (fillfactor);
"""

# One posting in one round trip. `p` is the request as JSON:
#   source, key, hash, kind, phase, effective_at, actor, external_ref, memo, metadata,
#   pending_id, reverses_id, expires_at,
#   legs:     [{account, direction D|C, amount (decimal text, major units), phase?}]
#   releases: [{account, direction, amount (minor units)}]  -- a hold's pending counters
#             given back when it is posted, voided or expired; they write no entry.
# Returns (journal_id, created). Accounts are locked by their UPDATE in ascending id order,
# so two postings over the same accounts never deadlock; entry-only house accounts are not
# locked at all (their balance is summed from entries), so they don't serialise traffic.
POST_FUNCTION = r"""
CREATE FUNCTION ledger_post(p jsonb) RETURNS TABLE (journal_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_journal bigint;
    v_hash text;
    v_phase text := coalesce(p->>'phase', 'posted');
    leg record;
    acct record;
    v_minor numeric;
    v_version bigint;
    v_balance bigint;
    v_status text;
    v_currencies int;
    bad record;
BEGIN
    INSERT INTO wallets_journal (source, idempotency_key, request_hash, kind, phase,
                                 effective_at, created_at, actor_id, external_ref, memo,
                                 metadata, pending_id, reverses_id, expires_at)
    VALUES (p->>'source', p->>'key', p->>'hash', p->>'kind', v_phase,
            coalesce((p->>'effective_at')::timestamptz, now()), now(),
            (p->>'actor')::bigint, coalesce(p->>'external_ref', ''), coalesce(p->>'memo', ''),
            coalesce(p->'metadata', '{}'::jsonb), (p->>'pending_id')::bigint,
            (p->>'reverses_id')::bigint, (p->>'expires_at')::timestamptz)
    ON CONFLICT (source, idempotency_key) DO NOTHING
    RETURNING id INTO v_journal;

    IF v_journal IS NULL THEN
        -- The key was used before (or a concurrent call holding it just committed).
        SELECT j.id, j.request_hash INTO v_journal, v_hash
          FROM wallets_journal j
         WHERE j.source = p->>'source' AND j.idempotency_key = p->>'key';
        IF v_hash <> p->>'hash' THEN
            RAISE EXCEPTION 'idempotency key %:% was used for a different request',
                p->>'source', p->>'key' USING ERRCODE = 'LG007';
        END IF;
        RETURN QUERY SELECT v_journal, false;
        RETURN;
    END IF;

    FOR leg IN
        SELECT (e->>'account')::bigint AS account_id, e->>'direction' AS direction,
               e->>'amount' AS amount, coalesce(e->>'phase', v_phase) AS phase,
               coalesce((e->>'release')::boolean, false) AS release, o
          FROM (
                SELECT e, o FROM jsonb_array_elements(coalesce(p->'legs', '[]')) WITH ORDINALITY t(e, o)
                UNION ALL
                SELECT e || '{"release": true}', -o
                  FROM jsonb_array_elements(coalesce(p->'releases', '[]')) WITH ORDINALITY t(e, o)
               ) legs
         ORDER BY 1, o
    LOOP
        SELECT a.entry_only, a.currency_id, a.status, c.exponent
          INTO acct
          FROM wallets_ledgeraccount a JOIN wallets_currency c ON c.code = a.currency_id
         WHERE a.id = leg.account_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger account % does not exist', leg.account_id USING ERRCODE = 'LG001';
        END IF;

        IF leg.release THEN
            -- Give back a hold's pending amount (already in minor units); no entry.
            IF NOT acct.entry_only THEN
                UPDATE wallets_ledgeraccount SET
                    debits_pending = debits_pending - CASE WHEN leg.direction = 'D' THEN leg.amount::bigint ELSE 0 END,
                    credits_pending = credits_pending - CASE WHEN leg.direction = 'C' THEN leg.amount::bigint ELSE 0 END
                 WHERE id = leg.account_id;
            END IF;
            CONTINUE;
        END IF;

        v_minor := leg.amount::numeric * (10::numeric ^ acct.exponent);
        IF v_minor <> trunc(v_minor) THEN
            RAISE EXCEPTION '% has more decimals than % allows (%)', leg.amount,
                acct.currency_id, acct.exponent USING ERRCODE = 'LG004';
        END IF;

        IF acct.entry_only THEN
            IF acct.status <> 'open' THEN
                RAISE EXCEPTION 'ledger account % is %', leg.account_id, acct.status
                    USING ERRCODE = 'LG002';
            END IF;
            INSERT INTO wallets_entry (journal_id, account_id, currency_id, direction, amount,
                                       phase, account_version, balance_after)
            VALUES (v_journal, leg.account_id, acct.currency_id, leg.direction, v_minor::bigint,
                    leg.phase, NULL, NULL);
            CONTINUE;
        END IF;

        UPDATE wallets_ledgeraccount SET
            debits_posted = debits_posted + CASE WHEN leg.direction = 'D' AND leg.phase = 'posted' THEN v_minor::bigint ELSE 0 END,
            credits_posted = credits_posted + CASE WHEN leg.direction = 'C' AND leg.phase = 'posted' THEN v_minor::bigint ELSE 0 END,
            debits_pending = debits_pending + CASE WHEN leg.direction = 'D' AND leg.phase = 'pending' THEN v_minor::bigint ELSE 0 END,
            credits_pending = credits_pending + CASE WHEN leg.direction = 'C' AND leg.phase = 'pending' THEN v_minor::bigint ELSE 0 END,
            version = version + 1
         WHERE id = leg.account_id
        RETURNING version, credits_posted - debits_posted, status
             INTO v_version, v_balance, v_status;
        -- An overdraft of a flagged wallet is refused by the CHECK on the counters above
        -- (SQLSTATE 23514, ledger_account_no_overdraft), before this line.
        IF v_status <> 'open' THEN
            RAISE EXCEPTION 'ledger account % is %', leg.account_id, v_status USING ERRCODE = 'LG002';
        END IF;
        INSERT INTO wallets_entry (journal_id, account_id, currency_id, direction, amount, phase,
                                   account_version, balance_after)
        VALUES (v_journal, leg.account_id, acct.currency_id, leg.direction, v_minor::bigint,
                leg.phase, v_version, v_balance);
    END LOOP;

    -- Say what is wrong now, in words, rather than at COMMIT through the deferred trigger.
    SELECT count(DISTINCT currency_id) INTO v_currencies FROM wallets_entry WHERE wallets_entry.journal_id = v_journal;
    -- A reversal mirrors a journal that passed this check, so it may span the currencies of
    -- the conversion it undoes (found by wallets/tests/test_ledger_properties.py).
    IF v_currencies > 1 AND p->>'kind' <> 'conversion'
       AND NOT (p->>'kind' = 'reversal' AND p->>'reverses_id' IS NOT NULL) THEN
        RAISE EXCEPTION 'legs are in more than one currency; only a conversion may do that'
            USING ERRCODE = 'LG005';
    END IF;
    SELECT currency_id, phase,
           sum(CASE WHEN direction = 'D' THEN amount ELSE 0 END) AS debits,
           sum(CASE WHEN direction = 'C' THEN amount ELSE 0 END) AS credits
      INTO bad
      FROM wallets_entry WHERE wallets_entry.journal_id = v_journal
     GROUP BY currency_id, phase
    HAVING sum(CASE WHEN direction = 'D' THEN amount ELSE -amount END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'legs do not balance in %: debits %, credits % (minor units)',
            bad.currency_id, bad.debits, bad.credits USING ERRCODE = 'LG006';
    END IF;

    RETURN QUERY SELECT v_journal, true;
END $$;
"""

# The per-item batch as migration 0002 installed it (0005 restores it on reverse).
PER_ITEM_BATCH_FUNCTION = r"""
-- Many postings in one call. All accounts of the batch are locked first, in id order, so
-- concurrent batches can't deadlock each other either.
CREATE FUNCTION ledger_post_batch(items jsonb) RETURNS TABLE (journal_id bigint, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
BEGIN
    PERFORM 1 FROM wallets_ledgeraccount
     WHERE id IN (SELECT DISTINCT (l->>'account')::bigint
                    FROM jsonb_array_elements(items) i,
                         jsonb_array_elements(coalesce(i->'legs', '[]')) l)
       AND NOT entry_only
     ORDER BY id
       FOR NO KEY UPDATE;
    FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
        RETURN QUERY SELECT * FROM ledger_post(item);
    END LOOP;
END $$;
"""

POST_FUNCTION = POST_FUNCTION + PER_ITEM_BATCH_FUNCTION

POST_FUNCTION_REVERSE = r"""
DROP FUNCTION IF EXISTS ledger_post_batch(jsonb);
DROP FUNCTION IF EXISTS ledger_post(jsonb);
"""

# Set-based batch (migration 0005). Plain posted transfers -- the bulk case: commissions,
# deposits, imports -- are written with a handful of statements for the whole batch instead
# of one ledger_post() per item: journals in one INSERT, entries in one INSERT with versions
# and balance_after from window functions, each account's counters in one UPDATE. Anything
# else in the batch (holds, their resolutions, reversals, conversions) takes the per-item
# path. The rules are the same: the same SQLSTATEs, the same lock order, and a batch that
# would overdraw a flagged wallet at any point of its sequence is refused whole.
BATCH_FUNCTION_0005 = r"""
CREATE OR REPLACE FUNCTION ledger_post_batch(items jsonb) RETURNS TABLE (journal_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    item jsonb;
    v_simple boolean;
    bad record;
BEGIN
    PERFORM 1 FROM wallets_ledgeraccount
     WHERE id IN (SELECT DISTINCT (l->>'account')::bigint
                    FROM jsonb_array_elements(items) i,
                         jsonb_array_elements(coalesce(i->'legs', '[]')) l)
       AND NOT entry_only
     ORDER BY id
       FOR NO KEY UPDATE;

    SELECT coalesce(bool_and(coalesce(i->>'phase', 'posted') = 'posted'
                    AND jsonb_array_length(coalesce(i->'releases', '[]')) = 0
                    AND i->>'pending_id' IS NULL AND i->>'reverses_id' IS NULL
                    AND i->>'kind' NOT IN ('conversion', 'reversal')), true)
      INTO v_simple FROM jsonb_array_elements(items) i;
    IF NOT v_simple THEN
        FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
            RETURN QUERY SELECT * FROM ledger_post(item);
        END LOOP;
        RETURN;
    END IF;

    CREATE TEMP TABLE IF NOT EXISTS _ledger_batch_items (
        ord bigint, first_ord bigint, src text, k text, h text, i jsonb, journal_id bigint,
        created boolean
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS _ledger_batch_legs (
        ord bigint, leg_ord bigint, journal_id bigint, account_id bigint, direction text,
        amount text, minor numeric, currency_id text, entry_only boolean, status text,
        exponent int
    ) ON COMMIT DELETE ROWS;
    DELETE FROM _ledger_batch_items;
    DELETE FROM _ledger_batch_legs;

    INSERT INTO _ledger_batch_items (ord, first_ord, src, k, h, i)
    SELECT o, min(o) OVER (PARTITION BY e->>'source', e->>'key'), e->>'source', e->>'key',
           e->>'hash', e
      FROM jsonb_array_elements(items) WITH ORDINALITY t(e, o);

    -- Claim the keys; a key already used (before, or earlier in this batch) is a replay.
    WITH ins AS (
        INSERT INTO wallets_journal (source, idempotency_key, request_hash, kind, phase,
                                     effective_at, created_at, actor_id, external_ref, memo,
                                     metadata, pending_id, reverses_id, expires_at)
        SELECT src, k, h, i->>'kind', 'posted',
               coalesce((i->>'effective_at')::timestamptz, now()), now(),
               (i->>'actor')::bigint, coalesce(i->>'external_ref', ''),
               coalesce(i->>'memo', ''), coalesce(i->'metadata', '{}'::jsonb), NULL, NULL,
               (i->>'expires_at')::timestamptz
          FROM _ledger_batch_items ORDER BY ord
        ON CONFLICT (source, idempotency_key) DO NOTHING
        RETURNING id, source, idempotency_key
    )
    UPDATE _ledger_batch_items b SET journal_id = ins.id, created = true
      FROM ins WHERE ins.source = b.src AND ins.idempotency_key = b.k AND b.ord = b.first_ord;
    UPDATE _ledger_batch_items b SET journal_id = j.id, created = false
      FROM wallets_journal j
     WHERE b.journal_id IS NULL AND j.source = b.src AND j.idempotency_key = b.k;
    SELECT b.src, b.k INTO bad
      FROM _ledger_batch_items b JOIN wallets_journal j ON j.id = b.journal_id
     WHERE NOT b.created AND j.request_hash <> b.h LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'idempotency key %:% was used for a different request', bad.src, bad.k
            USING ERRCODE = 'LG007';
    END IF;

    INSERT INTO _ledger_batch_legs (ord, leg_ord, journal_id, account_id, direction, amount,
                                    minor, currency_id, entry_only, status, exponent)
    SELECT b.ord, l.o, b.journal_id, (l.e->>'account')::bigint, l.e->>'direction',
           l.e->>'amount', (l.e->>'amount')::numeric * (10::numeric ^ c.exponent),
           a.currency_id, a.entry_only, a.status, c.exponent
      FROM _ledger_batch_items b
     CROSS JOIN LATERAL jsonb_array_elements(b.i->'legs') WITH ORDINALITY l(e, o)
      LEFT JOIN wallets_ledgeraccount a ON a.id = (l.e->>'account')::bigint
      LEFT JOIN wallets_currency c ON c.code = a.currency_id
     WHERE b.created;

    SELECT account_id INTO bad FROM _ledger_batch_legs WHERE currency_id IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger account % does not exist', bad.account_id USING ERRCODE = 'LG001';
    END IF;
    SELECT amount, currency_id, exponent INTO bad
      FROM _ledger_batch_legs WHERE minor <> trunc(minor) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% has more decimals than % allows (%)', bad.amount, bad.currency_id,
            bad.exponent USING ERRCODE = 'LG004';
    END IF;
    SELECT account_id, status INTO bad FROM _ledger_batch_legs WHERE status <> 'open' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger account % is %', bad.account_id, bad.status USING ERRCODE = 'LG002';
    END IF;
    SELECT journal_id INTO bad FROM _ledger_batch_legs
     GROUP BY journal_id HAVING count(DISTINCT currency_id) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'legs are in more than one currency; only a conversion may do that'
            USING ERRCODE = 'LG005';
    END IF;
    SELECT currency_id,
           sum(CASE WHEN direction = 'D' THEN minor ELSE 0 END) AS debits,
           sum(CASE WHEN direction = 'C' THEN minor ELSE 0 END) AS credits
      INTO bad FROM _ledger_batch_legs
     GROUP BY journal_id, currency_id
    HAVING sum(CASE WHEN direction = 'D' THEN minor ELSE -minor END) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'legs do not balance in %: debits %, credits % (minor units)',
            bad.currency_id, bad.debits, bad.credits USING ERRCODE = 'LG006';
    END IF;

    -- Entries, in posting order; counted accounts get consecutive versions and the posted
    -- balance after each entry, as one ledger_post() per item would have written them.
    INSERT INTO wallets_entry (journal_id, account_id, currency_id, direction, amount, phase,
                               account_version, balance_after)
    SELECT l.journal_id, l.account_id, l.currency_id, l.direction, l.minor::bigint, 'posted',
           CASE WHEN l.entry_only THEN NULL
                ELSE a.version + row_number() OVER w END,
           CASE WHEN l.entry_only THEN NULL
                ELSE a.credits_posted - a.debits_posted
                     + sum(CASE WHEN l.direction = 'C' THEN l.minor ELSE -l.minor END) OVER w END
      FROM _ledger_batch_legs l JOIN wallets_ledgeraccount a ON a.id = l.account_id
    WINDOW w AS (PARTITION BY l.account_id ORDER BY l.ord, l.leg_ord ROWS UNBOUNDED PRECEDING)
     ORDER BY l.ord, l.leg_ord;

    -- A flagged wallet may not be overdrawn at any point of the sequence, not only at its end.
    SELECT r.account_id, min(r.available) AS low INTO bad FROM (
        SELECT l.account_id,
               a.credits_posted - a.debits_posted - a.debits_pending
               + sum(CASE WHEN l.direction = 'C' THEN l.minor ELSE -l.minor END)
                 OVER (PARTITION BY l.account_id ORDER BY l.ord, l.leg_ord
                       ROWS UNBOUNDED PRECEDING) AS available
          FROM _ledger_batch_legs l JOIN wallets_ledgeraccount a ON a.id = l.account_id
         WHERE a.no_overdraft AND NOT l.entry_only
    ) r GROUP BY r.account_id HAVING min(r.available) < 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insufficient funds in ledger account %', bad.account_id
            USING ERRCODE = 'LG003';
    END IF;

    UPDATE wallets_ledgeraccount a SET
        debits_posted = a.debits_posted + s.d,
        credits_posted = a.credits_posted + s.c,
        version = a.version + s.n
      FROM (SELECT account_id,
                   sum(CASE WHEN direction = 'D' THEN minor ELSE 0 END)::bigint AS d,
                   sum(CASE WHEN direction = 'C' THEN minor ELSE 0 END)::bigint AS c,
                   count(*) AS n
              FROM _ledger_batch_legs WHERE NOT entry_only GROUP BY account_id) s
     WHERE a.id = s.account_id;

    RETURN QUERY SELECT b.journal_id, b.created FROM _ledger_batch_items b ORDER BY b.ord;
END $$;
"""

BATCH_FUNCTION_0005_REVERSE = PER_ITEM_BATCH_FUNCTION.replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
)


# Migration 0006: the zero-sum wall checked per statement for legs written together.
#
# The deferred trigger above runs one query per entry at COMMIT: about 20 us of a batch's
# posting, a fifth of what 20,000 legs/s allows. ledger_post_batch now writes each batch's
# legs in one INSERT, marks them `batched`, and sets ledger.batch_statement for that
# statement; a statement-level trigger then does the same check at the end of the statement,
# for all of its journals in one query. The mark and the setting only decide when the check
# runs, never whether:
# - a row is checked at COMMIT, as before, unless it is batched AND the setting is on;
# - when the setting is on, the statement trigger checks the journals of all batched rows,
#   summing every entry each journal has, not only this statement's.
# The statement trigger does not fire without the setting, so a single posting pays nothing
# for it (plpgsql plans a query over a transition table afresh at every call: ~40 us).
#
# The same two triggers now also check that an entry's journal exists, which the foreign key
# entry -> journal did with a deferred check per entry that also locked the journal row
# (FOR KEY SHARE, a WAL record each): another ~7 us a posting. Nothing is lost: journals
# can't be deleted or truncated (WALLS), so a journal that exists when its entries are
# checked exists for good.
STATEMENT_BALANCE = r"""
CREATE OR REPLACE FUNCTION wallets_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    PERFORM 1 FROM wallets_journal WHERE id = NEW.journal_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'journal % does not exist', NEW.journal_id USING ERRCODE = '23503';
    END IF;
    SELECT currency_id, phase,
           sum(CASE WHEN direction = 'D' THEN amount ELSE 0 END) AS debits,
           sum(CASE WHEN direction = 'C' THEN amount ELSE 0 END) AS credits
      INTO bad
      FROM wallets_entry
     WHERE journal_id = NEW.journal_id
     GROUP BY currency_id, phase
    HAVING sum(CASE WHEN direction = 'D' THEN amount ELSE -amount END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance in % (%): debits %, credits %',
            NEW.journal_id, bad.currency_id, bad.phase, bad.debits, bad.credits
            USING ERRCODE = 'LG006';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER wallets_entry_balanced ON wallets_entry;
CREATE CONSTRAINT TRIGGER wallets_entry_balanced AFTER INSERT ON wallets_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NOT NEW.batched
          OR current_setting('ledger.batch_statement', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION wallets_entry_balanced();

CREATE FUNCTION wallets_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    journals bigint[] := ARRAY(SELECT DISTINCT n.journal_id FROM new_entries n WHERE n.batched);
    bad record;
BEGIN
    SELECT x AS journal_id INTO bad FROM unnest(journals) x
     WHERE NOT EXISTS (SELECT 1 FROM wallets_journal j WHERE j.id = x) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not exist', bad.journal_id USING ERRCODE = '23503';
    END IF;
    -- = ANY(journals) probes the journal_id index once per journal; an IN (subquery) over
    -- the transition table (no statistics) was planned as a merge join over the whole index.
    SELECT e.journal_id, e.currency_id, e.phase,
           sum(CASE WHEN e.direction = 'D' THEN e.amount ELSE 0 END) AS debits,
           sum(CASE WHEN e.direction = 'C' THEN e.amount ELSE 0 END) AS credits
      INTO bad
      FROM wallets_entry e
     WHERE e.journal_id = ANY (journals)
     GROUP BY e.journal_id, e.currency_id, e.phase
    HAVING sum(CASE WHEN e.direction = 'D' THEN e.amount ELSE -e.amount END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance in % (%): debits %, credits %',
            bad.journal_id, bad.currency_id, bad.phase, bad.debits, bad.credits
            USING ERRCODE = 'LG006';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER wallets_entries_balanced AFTER INSERT ON wallets_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT
    WHEN (current_setting('ledger.batch_statement', true) = 'on')
    EXECUTE FUNCTION wallets_entries_balanced();
"""

STATEMENT_BALANCE_REVERSE = (
    r"""
DROP TRIGGER IF EXISTS wallets_entries_balanced ON wallets_entry;
DROP FUNCTION IF EXISTS wallets_entries_balanced();
DROP TRIGGER wallets_entry_balanced ON wallets_entry;
CREATE CONSTRAINT TRIGGER wallets_entry_balanced AFTER INSERT ON wallets_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wallets_entry_balanced();
"""
    # the zero-sum function as WALLS installed it, without the journal check
    + WALLS[
        WALLS.index("CREATE FUNCTION wallets_entry_balanced()") : WALLS.index(
            "CREATE CONSTRAINT TRIGGER wallets_entry_balanced"
        )
    ].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
)

# The set-based batch, second version (migration 0006). Per posting, measured against 0005's
# on 100,000 wallets: the accounts are read once, as they are locked, into a small table of
# their own, instead of being joined three times (each join hashed all 100,000 accounts);
# and the legs are written `batched`, so the zero-sum check runs once per statement instead
# of once per entry at COMMIT.
BATCH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_post_batch(items jsonb) RETURNS TABLE (journal_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    item jsonb;
    v_simple boolean;
    v_ids bigint[];
    bad record;
BEGIN
    SELECT array_agg(DISTINCT (l->>'account')::bigint ORDER BY (l->>'account')::bigint),
           coalesce(bool_and(coalesce(i->>'phase', 'posted') = 'posted'
                    AND jsonb_array_length(coalesce(i->'releases', '[]')) = 0
                    AND i->>'pending_id' IS NULL AND i->>'reverses_id' IS NULL
                    AND i->>'kind' NOT IN ('conversion', 'reversal')), true)
      INTO v_ids, v_simple
      FROM jsonb_array_elements(items) i
      LEFT JOIN LATERAL jsonb_array_elements(coalesce(i->'legs', '[]')) l ON true;

    CREATE TEMP TABLE IF NOT EXISTS _ledger_batch_items (
        ord bigint, first_ord bigint, src text, k text, h text, i jsonb, journal_id bigint,
        created boolean
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS _ledger_batch_accounts (
        id bigint, currency_id text, exponent int, entry_only boolean, no_overdraft boolean,
        status text, version bigint, posted bigint, available bigint
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS _ledger_batch_legs_v2 (
        ord bigint, leg_ord bigint, journal_id bigint, account_id bigint, direction text,
        amount text, minor numeric, currency_id text, exponent int, entry_only boolean,
        no_overdraft boolean, status text, version bigint, posted bigint, available bigint
    ) ON COMMIT DELETE ROWS;
    DELETE FROM _ledger_batch_items;
    DELETE FROM _ledger_batch_accounts;
    DELETE FROM _ledger_batch_legs_v2;

    -- Lock every counted account of the batch up front, in ascending id order, and keep
    -- what the batch needs of it as it is once locked. Entry-only house accounts are read,
    -- not locked: their balance is summed from entries, so they serialise nothing.
    INSERT INTO _ledger_batch_accounts
    SELECT a.id, a.currency_id, c.exponent, a.entry_only, a.no_overdraft, a.status, a.version,
           a.credits_posted - a.debits_posted,
           a.credits_posted - a.debits_posted - a.debits_pending
      FROM wallets_ledgeraccount a JOIN wallets_currency c ON c.code = a.currency_id
     WHERE a.id = ANY(v_ids) AND NOT a.entry_only
     ORDER BY a.id
       FOR NO KEY UPDATE OF a;
    INSERT INTO _ledger_batch_accounts
    SELECT a.id, a.currency_id, c.exponent, a.entry_only, a.no_overdraft, a.status, a.version,
           NULL, NULL
      FROM wallets_ledgeraccount a JOIN wallets_currency c ON c.code = a.currency_id
     WHERE a.id = ANY(v_ids) AND a.entry_only;

    IF NOT v_simple THEN
        FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
            RETURN QUERY SELECT * FROM ledger_post(item);
        END LOOP;
        RETURN;
    END IF;

    INSERT INTO _ledger_batch_items (ord, first_ord, src, k, h, i)
    SELECT o, min(o) OVER (PARTITION BY e->>'source', e->>'key'), e->>'source', e->>'key',
           e->>'hash', e
      FROM jsonb_array_elements(items) WITH ORDINALITY t(e, o);

    -- Claim the keys; a key already used (before, or earlier in this batch) is a replay.
    WITH ins AS (
        INSERT INTO wallets_journal (source, idempotency_key, request_hash, kind, phase,
                                     effective_at, created_at, actor_id, external_ref, memo,
                                     metadata, pending_id, reverses_id, expires_at)
        SELECT src, k, h, i->>'kind', 'posted',
               coalesce((i->>'effective_at')::timestamptz, now()), now(),
               (i->>'actor')::bigint, coalesce(i->>'external_ref', ''),
               coalesce(i->>'memo', ''), coalesce(i->'metadata', '{}'::jsonb), NULL, NULL,
               (i->>'expires_at')::timestamptz
          FROM _ledger_batch_items ORDER BY ord
        ON CONFLICT (source, idempotency_key) DO NOTHING
        RETURNING id, source, idempotency_key
    )
    UPDATE _ledger_batch_items b SET journal_id = ins.id, created = true
      FROM ins WHERE ins.source = b.src AND ins.idempotency_key = b.k AND b.ord = b.first_ord;
    UPDATE _ledger_batch_items b SET journal_id = j.id, created = false
      FROM wallets_journal j
     WHERE b.journal_id IS NULL AND j.source = b.src AND j.idempotency_key = b.k;
    SELECT b.src, b.k INTO bad
      FROM _ledger_batch_items b JOIN wallets_journal j ON j.id = b.journal_id
     WHERE NOT b.created AND j.request_hash <> b.h LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'idempotency key %:% was used for a different request', bad.src, bad.k
            USING ERRCODE = 'LG007';
    END IF;

    INSERT INTO _ledger_batch_legs_v2
    SELECT b.ord, l.o, b.journal_id, (l.e->>'account')::bigint, l.e->>'direction',
           l.e->>'amount', (l.e->>'amount')::numeric * (10::numeric ^ a.exponent),
           a.currency_id, a.exponent, a.entry_only, a.no_overdraft, a.status, a.version,
           a.posted, a.available
      FROM _ledger_batch_items b
     CROSS JOIN LATERAL jsonb_array_elements(b.i->'legs') WITH ORDINALITY l(e, o)
      LEFT JOIN _ledger_batch_accounts a ON a.id = (l.e->>'account')::bigint
     WHERE b.created;

    SELECT account_id INTO bad FROM _ledger_batch_legs_v2 WHERE currency_id IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger account % does not exist', bad.account_id USING ERRCODE = 'LG001';
    END IF;
    SELECT amount, currency_id, exponent INTO bad
      FROM _ledger_batch_legs_v2 WHERE minor <> trunc(minor) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% has more decimals than % allows (%)', bad.amount, bad.currency_id,
            bad.exponent USING ERRCODE = 'LG004';
    END IF;
    SELECT account_id, status INTO bad FROM _ledger_batch_legs_v2 WHERE status <> 'open' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger account % is %', bad.account_id, bad.status USING ERRCODE = 'LG002';
    END IF;
    SELECT journal_id INTO bad FROM _ledger_batch_legs_v2
     GROUP BY journal_id HAVING count(DISTINCT currency_id) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'legs are in more than one currency; only a conversion may do that'
            USING ERRCODE = 'LG005';
    END IF;
    SELECT currency_id,
           sum(CASE WHEN direction = 'D' THEN minor ELSE 0 END) AS debits,
           sum(CASE WHEN direction = 'C' THEN minor ELSE 0 END) AS credits
      INTO bad FROM _ledger_batch_legs_v2
     GROUP BY journal_id, currency_id
    HAVING sum(CASE WHEN direction = 'D' THEN minor ELSE -minor END) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'legs do not balance in %: debits %, credits % (minor units)',
            bad.currency_id, bad.debits, bad.credits USING ERRCODE = 'LG006';
    END IF;

    -- A flagged wallet may not be overdrawn at any point of the sequence, not only at its end.
    SELECT r.account_id, min(r.available) AS low INTO bad FROM (
        SELECT account_id,
               available + sum(CASE WHEN direction = 'C' THEN minor ELSE -minor END)
                 OVER (PARTITION BY account_id ORDER BY ord, leg_ord
                       ROWS UNBOUNDED PRECEDING) AS available
          FROM _ledger_batch_legs_v2 WHERE no_overdraft AND NOT entry_only
    ) r GROUP BY r.account_id HAVING min(r.available) < 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insufficient funds in ledger account %', bad.account_id
            USING ERRCODE = 'LG003';
    END IF;

    -- Entries, in posting order; counted accounts get consecutive versions and the posted
    -- balance after each entry, as one ledger_post() per item would have written them.
    -- Their journals are checked at the end of this statement (STATEMENT_BALANCE).
    PERFORM set_config('ledger.batch_statement', 'on', true);
    INSERT INTO wallets_entry (batched, journal_id, account_id, currency_id, direction, amount, phase,
                               account_version, balance_after)
    SELECT true, journal_id, account_id, currency_id, direction, minor::bigint, 'posted',
           CASE WHEN entry_only THEN NULL ELSE version + row_number() OVER w END,
           CASE WHEN entry_only THEN NULL
                ELSE posted + sum(CASE WHEN direction = 'C' THEN minor ELSE -minor END) OVER w END
      FROM _ledger_batch_legs_v2
    WINDOW w AS (PARTITION BY account_id ORDER BY ord, leg_ord ROWS UNBOUNDED PRECEDING)
     ORDER BY ord, leg_ord;

    PERFORM set_config('ledger.batch_statement', 'off', true);

    UPDATE wallets_ledgeraccount a SET
        debits_posted = a.debits_posted + s.d,
        credits_posted = a.credits_posted + s.c,
        version = a.version + s.n
      FROM (SELECT account_id,
                   sum(CASE WHEN direction = 'D' THEN minor ELSE 0 END)::bigint AS d,
                   sum(CASE WHEN direction = 'C' THEN minor ELSE 0 END)::bigint AS c,
                   count(*) AS n
              FROM _ledger_batch_legs_v2 WHERE NOT entry_only GROUP BY account_id) s
     WHERE a.id = s.account_id AND a.id = ANY(v_ids);

    RETURN QUERY SELECT b.journal_id, b.created FROM _ledger_batch_items b ORDER BY b.ord;
END $$;
"""

BATCH_FUNCTION_REVERSE = BATCH_FUNCTION_0005
