"""The rules PostgreSQL enforces itself (wallets/ledger/sql.py, migration 0002), each attacked
with raw SQL that bypasses the services, as a bug or a hand-written query would. Every attempt
must fail with its own error and leave nothing behind."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import ClientFactory
from wallets.ledger.services import (
    Leg,
    house_account,
    ledger_hold,
    ledger_post_pending,
    ledger_reverse,
    ledger_transfer,
    wallet_for_client,
)
from wallets.models import Entry, Journal, LedgerAccount

pytestmark = pytest.mark.django_db
D = Decimal


def refused(*statements: str | tuple[str, list]):
    """Run the statements in a savepoint; the last must fail. Returns psycopg's error."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as c:
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, None)
            c.execute(sql, params)
    return caught.value.__cause__


def insert_journal(key: str, *, pending_id=None, reverses_id=None, kind="transfer") -> tuple:
    return (
        "INSERT INTO wallets_journal (source, idempotency_key, request_hash, kind, phase,"
        " effective_at, created_at, external_ref, memo, metadata, pending_id, reverses_id)"
        " VALUES ('raw', %s, '', %s, 'posted', now(), now(), '', '', '{}', %s, %s)",
        [key, kind, pending_id, reverses_id],
    )


def insert_entry(account: LedgerAccount, direction: str, amount: int, **override) -> tuple:
    """An entry of the journal inserted just before (its id is the sequence's current value)."""
    row = {"currency": account.currency_id, "phase": "posted", **override}
    return (
        "INSERT INTO wallets_entry (journal_id, account_id, currency_id, direction, amount,"
        " phase, account_version, balance_after)"
        " VALUES (currval(pg_get_serial_sequence('wallets_journal', 'id')), %s, %s, %s, %s, %s,"
        " NULL, NULL)",
        [account.pk, row["currency"], direction, amount, row["phase"]],
    )


CHECK_NOW = "SET CONSTRAINTS wallets_entry_balanced IMMEDIATE"


@pytest.fixture
def house(db):
    """Two entry-only house accounts: raw entries on them touch no counters."""
    return (
        house_account(kind="psp_clearing", currency="USD", label="walls"),
        house_account(kind="fee_income", currency="USD"),
    )


@pytest.fixture
def transfer(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "10.00")
    result = ledger_transfer(
        source="test",
        key="to-attack",
        legs=[Leg(usd_wallet, "D", D("4")), Leg(other_usd_wallet, "C", D("4"))],
    )
    return Journal.objects.get(pk=result.journal_id)


def test_raw_sql_that_balances_is_accepted(house):
    # The control: the statements the tests below break are otherwise valid.
    clearing, income = house
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in (
            insert_journal("balanced"),
            insert_entry(clearing, "D", 500),
            insert_entry(income, "C", 500),
        ):
            cursor.execute(sql, params)
        cursor.execute(CHECK_NOW)
    assert Entry.objects.filter(journal__idempotency_key="balanced").count() == 2


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        (
            [("D", 500, {}), ("C", 499, {})],
            "does not balance in USD (posted): debits 500, credits 499",
        ),
        ([("D", 500, {})], "does not balance in USD (posted): debits 500, credits 0"),
        # Balanced in total, but not within one phase.
        ([("D", 500, {}), ("C", 500, {"phase": "pending"})], "does not balance in USD"),
    ],
    ids=["short-credit", "one-leg", "across-phases"],
)
def test_an_unbalanced_journal_is_refused_by_the_zero_sum_trigger(house, legs, message):
    clearing, income = house
    error = refused(
        insert_journal("unbalanced"),
        *(
            insert_entry(clearing if direction == "D" else income, direction, amount, **extra)
            for direction, amount, extra in legs
        ),
        CHECK_NOW,
    )
    assert error.sqlstate == "LG006"
    assert message in error.diag.message_primary
    assert not Journal.objects.filter(idempotency_key="unbalanced").exists()


def test_a_journal_balanced_only_across_currencies_is_refused(house):
    clearing, _ = house
    eur = house_account(kind="fee_income", currency="EUR")
    error = refused(
        insert_journal("two-currencies"),
        insert_entry(clearing, "D", 500),
        insert_entry(eur, "C", 500),
        CHECK_NOW,
    )
    assert error.sqlstate == "LG006"
    assert "does not balance in" in error.diag.message_primary
    assert not Journal.objects.filter(idempotency_key="two-currencies").exists()


def test_an_entry_in_another_currency_than_its_account_is_refused(house):
    clearing, income = house
    error = refused(
        insert_journal("wrong-currency"),
        insert_entry(clearing, "D", 500, currency="EUR"),
    )
    assert error.sqlstate == "23503"  # foreign_key_violation, on (account, currency)
    assert error.diag.constraint_name == "wallets_entry_account_currency"
    assert not Journal.objects.filter(idempotency_key="wrong-currency").exists()


@pytest.mark.parametrize("amount", [0, -500])
def test_an_entry_of_zero_or_a_negative_amount_is_refused(house, amount):
    clearing, income = house
    error = refused(
        insert_journal("not-positive"),
        insert_entry(clearing, "D", amount),
    )
    assert error.sqlstate == "23514"  # check_violation
    assert error.diag.constraint_name == "entry_amount_positive"
    assert not Journal.objects.filter(idempotency_key="not-positive").exists()


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("UPDATE wallets_journal SET memo = 'edited' WHERE id = %(journal)s", "wallets_journal"),
        (
            "UPDATE wallets_journal SET kind = 'adjustment' WHERE id = %(journal)s",
            "wallets_journal",
        ),
        ("DELETE FROM wallets_journal WHERE id = %(journal)s", "wallets_journal"),
        ("UPDATE wallets_entry SET amount = 1 WHERE journal_id = %(journal)s", "wallets_entry"),
        (
            "UPDATE wallets_entry SET direction = 'C' WHERE journal_id = %(journal)s",
            "wallets_entry",
        ),
        ("DELETE FROM wallets_entry WHERE journal_id = %(journal)s", "wallets_entry"),
        ("DELETE FROM wallets_ledgeraccount WHERE id = %(empty)s", "wallets_ledgeraccount"),
    ],
)
def test_ledger_rows_cannot_be_edited_or_deleted(transfer, statement, table):
    empty = house_account(kind="adjustments", currency="USD")  # no entries: no FK in the way
    before = list(Entry.objects.filter(journal=transfer).values_list("id", "direction", "amount"))
    error = refused((statement, {"journal": transfer.pk, "empty": empty.pk}))
    assert error.sqlstate == "LG008"
    assert error.diag.message_primary == (
        f"ledger rows in {table} are immutable: post a reversal instead"
    )
    journal = Journal.objects.get(pk=transfer.pk)
    assert (journal.memo, journal.kind) == ("", Journal.Kind.TRANSFER)
    assert (
        list(Entry.objects.filter(journal=transfer).values_list("id", "direction", "amount"))
        == before
    )
    assert LedgerAccount.objects.filter(pk=empty.pk).exists()


def test_the_orm_cannot_edit_or_delete_ledger_rows_either(transfer):
    for attempt in (
        lambda: Journal.objects.filter(pk=transfer.pk).update(memo="edited"),
        lambda: Entry.objects.filter(journal=transfer).delete(),
        lambda: house_account(kind="adjustments", currency="USD").delete(),
    ):
        with pytest.raises(DatabaseError, match="are immutable"), transaction.atomic():
            attempt()
    assert Entry.objects.filter(journal=transfer).count() == 2


@pytest.mark.parametrize(
    "tables", ["wallets_entry", "wallets_journal CASCADE", "wallets_ledgeraccount CASCADE"]
)
def test_ledger_tables_cannot_be_truncated(transfer, tables):
    # The test settings allow TRUNCATE for the flush between tests; production never does.
    # (The checks of this test transaction's earlier inserts are run first: PostgreSQL won't
    # truncate a table with trigger events pending.)
    error = refused(
        "SET CONSTRAINTS ALL IMMEDIATE",
        "SET LOCAL ledger.allow_truncate = off",
        f"TRUNCATE {tables}",
    )
    assert error.sqlstate == "LG008"
    assert error.diag.message_primary.endswith("cannot be truncated")
    assert Entry.objects.filter(journal=transfer).count() == 2


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ("debits_posted = credits_posted + 1", "ledger_account_no_overdraft"),
        ("debits_pending = credits_posted - debits_posted + 1", "ledger_account_no_overdraft"),
        ("debits_posted = 500, credits_posted = 499", "ledger_account_no_overdraft"),
        ("debits_posted = -1", "ledger_account_counters_not_negative"),
    ],
)
def test_a_flagged_wallet_cannot_be_pushed_below_zero_by_its_counters(
    usd_wallet, fund, change, constraint
):
    fund(usd_wallet, "10.00")
    error = refused(
        (f"UPDATE wallets_ledgeraccount SET {change} WHERE id = %s", [usd_wallet.pk])  # noqa: S608
    )
    assert error.sqlstate == "23514"
    assert error.diag.constraint_name == constraint
    usd_wallet.refresh_from_db()
    assert (usd_wallet.credits_posted, usd_wallet.debits_posted, usd_wallet.debits_pending) == (
        1000,
        0,
        0,
    )


def test_an_unflagged_house_account_may_go_below_zero(house):
    # The control for the CHECK above: only flagged accounts are held to it.
    clearing, _ = house
    clearing.refresh_from_db()
    assert not clearing.no_overdraft
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallets_ledgeraccount SET debits_posted = 5 WHERE id = %s", [clearing.pk]
        )


def test_a_hold_cannot_be_resolved_a_second_time(usd_wallet, fund):
    fund(usd_wallet, "10.00")
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    hold = ledger_hold(source="test", key="h", debit=usd_wallet, credit=transit, amount=D("3"))
    ledger_post_pending(source="test", key="p", hold_id=hold.journal_id)
    for kind in ("void", "post", "expire"):
        error = refused(insert_journal(f"again-{kind}", pending_id=hold.journal_id, kind=kind))
        assert error.sqlstate == "23505"  # unique_violation
        assert error.diag.constraint_name == "journal_pending_id_once"
    assert Journal.objects.filter(pending_id=hold.journal_id).count() == 1
    assert not Journal.objects.filter(source="raw").exists()


def test_a_journal_cannot_be_reversed_a_second_time(transfer):
    ledger_reverse(source="test", key="r", journal_id=transfer.pk)
    error = refused(insert_journal("again", reverses_id=transfer.pk, kind="reversal"))
    assert error.sqlstate == "23505"
    assert error.diag.constraint_name == "journal_reverses_id_once"
    assert Journal.objects.filter(reverses_id=transfer.pk).count() == 1
    assert not Journal.objects.filter(source="raw").exists()


def _call_ledger_post(payload: dict) -> tuple:
    base = {"source": "raw", "key": "fn", "hash": "h", "kind": "transfer"}
    return ("SELECT * FROM ledger_post(%s::jsonb)", [json.dumps({**base, **payload})])


@pytest.mark.parametrize(
    ("legs", "kind", "sqlstate", "message"),
    [
        ([("a", "D", "5"), ("b", "C", "4")], "transfer", "LG006", "legs do not balance in USD"),
        ([("a", "D", "5")], "transfer", "LG006", "legs do not balance in USD"),
        ([("a", "D", "0.001"), ("b", "C", "0.001")], "transfer", "LG004", "more decimals"),
        ([("a", "D", "1"), ("eur", "C", "1")], "transfer", "LG005", "more than one currency"),
        ([("a", "D", "1"), ("missing", "C", "1")], "transfer", "LG001", "does not exist"),
        ([("a", "D", "11"), ("b", "C", "11")], "transfer", "23514", "ledger_account_no_overdraft"),
    ],
    ids=["unbalanced", "one-leg", "decimals", "currencies", "unknown-account", "overdraft"],
)
def test_the_posting_function_refuses_bad_requests_on_its_own(
    usd_wallet, other_usd_wallet, fund, legs, kind, sqlstate, message
):
    fund(usd_wallet, "10.00")
    accounts = {
        "a": usd_wallet.pk,
        "b": other_usd_wallet.pk,
        "eur": wallet_for_client(client=ClientFactory(), currency="EUR").pk,
        "missing": 0,
    }
    journals, entries = Journal.objects.count(), Entry.objects.count()
    error = refused(
        _call_ledger_post(
            {
                "kind": kind,
                "legs": [
                    {"account": accounts[a], "direction": d, "amount": amount}
                    for a, d, amount in legs
                ],
            }
        )
    )
    assert error.sqlstate == sqlstate
    assert message in (error.diag.constraint_name or "") + error.diag.message_primary
    assert (Journal.objects.count(), Entry.objects.count()) == (journals, entries)
    usd_wallet.refresh_from_db()
    assert (usd_wallet.debits_posted, usd_wallet.version) == (0, 1)


def test_the_posting_function_refuses_a_reused_key_with_another_request(usd_wallet, fund):
    fund(usd_wallet, "10.00")
    clearing = house_account(kind="psp_clearing", currency="USD", label="walls")
    legs = [
        {"account": clearing.pk, "direction": "D", "amount": "1"},
        {"account": usd_wallet.pk, "direction": "C", "amount": "1"},
    ]
    with connection.cursor() as cursor:
        cursor.execute(*_call_ledger_post({"legs": legs}))
    error = refused(_call_ledger_post({"legs": legs, "hash": "another"}))
    assert error.sqlstate == "LG007"
    assert error.diag.message_primary == "idempotency key raw:fn was used for a different request"
    assert Journal.objects.filter(source="raw").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_journal_is_refused_at_commit(house):
    # Without SET CONSTRAINTS: the deferred trigger fires when the transaction commits.
    clearing, income = house
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as c:
        for sql, params in (
            insert_journal("at-commit"),
            insert_entry(clearing, "D", 500),
            insert_entry(income, "C", 400),
        ):
            c.execute(sql, params)
        # Still inside the transaction: the rows are there, not yet checked.
        c.execute("SELECT count(*) FROM wallets_entry WHERE account_id = %s", [income.pk])
        assert c.fetchone() == (1,)
    assert caught.value.__cause__.sqlstate == "LG006"
    assert not Journal.objects.filter(idempotency_key="at-commit").exists()
    assert not Entry.objects.filter(account__in=house).exists()


BATCH_STATEMENT = "SELECT set_config('ledger.batch_statement', 'on', true)"


def insert_batched_legs(journal_key: str, legs: list[tuple[LedgerAccount, str, int]]) -> tuple:
    """All legs in one statement, marked `batched` as ledger_post_batch writes them."""
    values = ", ".join(["(%s, %s, %s, %s)"] * len(legs))
    params: list = []
    for account, direction, amount in legs:
        params += [account.pk, account.currency_id, direction, amount]
    return (
        "INSERT INTO wallets_entry (journal_id, account_id, currency_id, direction, amount,"  # noqa: S608 (only %s placeholders are formatted in)
        " phase, account_version, balance_after, batched)"
        " SELECT j.id, v.account, v.currency, v.direction, v.amount, 'posted', NULL, NULL, true"
        f" FROM (VALUES {values}) v(account, currency, direction, amount)"
        " JOIN wallets_journal j ON j.source = 'raw' AND j.idempotency_key = %s",
        [*params, journal_key],
    )


def test_batched_legs_that_balance_are_accepted(house):
    clearing, income = house
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in (
            (BATCH_STATEMENT, None),
            insert_journal("batched"),
            insert_batched_legs("batched", [(clearing, "D", 500), (income, "C", 500)]),
        ):
            cursor.execute(sql, params)
    assert Entry.objects.filter(journal__idempotency_key="batched", batched=True).count() == 2


def test_batched_legs_that_do_not_balance_fail_their_own_statement(house):
    # The mark and the setting move the check from COMMIT to the end of the statement.
    clearing, income = house
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BATCH_STATEMENT)
        cursor.execute(*insert_journal("batched-short"))
        with pytest.raises(DatabaseError) as caught, transaction.atomic():
            cursor.execute(
                *insert_batched_legs("batched-short", [(clearing, "D", 500), (income, "C", 499)])
            )
        error = caught.value.__cause__
        assert error.sqlstate == "LG006"
        assert "does not balance in USD (posted): debits 500, credits 499" in str(error)
        assert not Entry.objects.filter(journal__idempotency_key="batched-short").exists()
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_batched_legs_without_the_setting_are_still_checked_at_commit(house):
    # Marking rows `batched` alone skips nothing: without the statement's setting the
    # statement trigger doesn't fire, and the deferred trigger checks them at COMMIT.
    clearing, income = house
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as c:
        c.execute(*insert_journal("batched-unset"))
        c.execute(*insert_batched_legs("batched-unset", [(clearing, "D", 500), (income, "C", 1)]))
    assert caught.value.__cause__.sqlstate == "LG006"
    assert not Journal.objects.filter(idempotency_key="batched-unset").exists()
    assert not Entry.objects.filter(account__in=house).exists()


def test_a_batched_leg_cannot_unbalance_a_journal_that_already_has_entries(transfer, house):
    # The statement check sums every entry of the journal, not only the statement's own:
    # one credit "batched" into yesterday's balanced journal is refused.
    _, income = house
    error = refused(
        BATCH_STATEMENT,
        (
            "INSERT INTO wallets_entry (journal_id, account_id, currency_id, direction, amount,"
            " phase, account_version, balance_after, batched)"
            " VALUES (%s, %s, 'USD', 'C', 100, 'posted', NULL, NULL, true)",
            [transfer.pk, income.pk],
        ),
    )
    assert error.sqlstate == "LG006"
    assert f"journal {transfer.pk} does not balance" in error.diag.message_primary
    assert transfer.entries.count() == 2


def test_unbatched_legs_are_still_checked_at_commit_next_to_batched_ones(house):
    # With the setting on, the batched journal is checked at its statement and passes; the
    # unbatched one is left to COMMIT (here: SET CONSTRAINTS), where it fails.
    clearing, income = house
    error = refused(
        BATCH_STATEMENT,
        insert_journal("mixed-ok"),
        insert_batched_legs("mixed-ok", [(clearing, "D", 300), (income, "C", 300)]),
        insert_journal("mixed-bad"),
        insert_entry(clearing, "D", 500),
        CHECK_NOW,
    )
    assert error.sqlstate == "LG006"
    assert "debits 500, credits 0" in error.diag.message_primary


@pytest.mark.parametrize("batched", [False, True], ids=["checked-at-commit", "batched"])
def test_an_entry_of_a_journal_that_does_not_exist_is_refused(house, batched):
    clearing, income = house
    missing = (Journal.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000
    legs = (
        "INSERT INTO wallets_entry (journal_id, account_id, currency_id, direction, amount,"
        " phase, account_version, balance_after, batched)"
        " VALUES (%s, %s, 'USD', 'D', 100, 'posted', NULL, NULL, %s),"
        " (%s, %s, 'USD', 'C', 100, 'posted', NULL, NULL, %s)",
        [missing, clearing.pk, batched, missing, income.pk, batched],
    )
    error = refused(*([BATCH_STATEMENT] if batched else []), legs, CHECK_NOW)
    assert error.sqlstate == "23503"  # foreign_key_violation, as the key it replaces
    assert error.diag.message_primary == f"journal {missing} does not exist"
    assert not Entry.objects.filter(journal_id=missing).exists()
