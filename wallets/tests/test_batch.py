"""The set-based batch writes what one posting at a time would have written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from tests.factories import ClientFactory
from wallets.ledger import exceptions as errors
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import (
    Leg,
    TransferRequest,
    house_account,
    ledger_transfer_many,
    wallet_for_client,
)
from wallets.models import Entry, Journal

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def wallets(fund):
    a = wallet_for_client(client=ClientFactory(), currency="USD")
    b = wallet_for_client(client=ClientFactory(), currency="USD")
    fund(a, "10.00")
    return a, b


def _move(key, src, dst, amount):
    return TransferRequest(
        source="batch", key=key, legs=[Leg(src, "D", D(amount)), Leg(dst, "C", D(amount))]
    )


def test_a_batch_writes_versions_and_running_balances_in_order(wallets):
    a, b = wallets
    clearing = house_account(kind="psp_clearing", currency="USD", label="batch")
    results = ledger_transfer_many(
        requests=[
            _move("1", a, b, "3.00"),
            _move("2", b, a, "1.00"),
            _move("3", clearing, a, "0.50"),
            _move("4", a, b, "8.50"),
        ]
    )
    assert [r.created for r in results] == [True] * 4
    assert len({r.journal_id for r in results}) == 4
    rows = list(
        Entry.objects.filter(account=a)
        .order_by("account_version")
        .values_list("account_version", "balance_after")
    )
    assert rows == [(1, 1000), (2, 700), (3, 800), (4, 850), (5, 0)]
    a.refresh_from_db()
    assert account_balance(account=a).posted == D("0.00") and a.version == 5
    # Written together, checked together: the zero-sum check ran at the statement's end.
    batch_entries = Entry.objects.filter(journal_id__in=[r.journal_id for r in results])
    assert batch_entries.count() == 8 and all(e.batched for e in batch_entries)


def test_replaying_a_batch_returns_the_first_results(wallets):
    a, b = wallets
    batch = [_move("r1", a, b, "1.00"), _move("r2", a, b, "2.00")]
    first = ledger_transfer_many(requests=batch)
    again = ledger_transfer_many(requests=batch)
    assert [r.journal_id for r in again] == [r.journal_id for r in first]
    assert [r.created for r in again] == [False, False]
    b.refresh_from_db()
    assert account_balance(account=b).posted == D("3.00")


def test_the_same_key_twice_in_one_batch_posts_once(wallets):
    a, b = wallets
    results = ledger_transfer_many(
        requests=[_move("dup", a, b, "1.00"), _move("dup", a, b, "1.00")]
    )
    assert results[0].journal_id == results[1].journal_id
    assert [r.created for r in results] == [True, False]
    assert Journal.objects.filter(idempotency_key="dup").count() == 1


def test_a_reused_key_with_another_payload_refuses_the_whole_batch(wallets):
    a, b = wallets
    ledger_transfer_many(requests=[_move("k", a, b, "1.00")])
    with pytest.raises(errors.IdempotencyConflict, match="was used for a different request"):
        ledger_transfer_many(requests=[_move("new", a, b, "1.00"), _move("k", a, b, "2.00")])
    assert not Journal.objects.filter(idempotency_key="new").exists()


def test_an_overdraft_anywhere_in_the_sequence_refuses_the_whole_batch(wallets):
    a, b = wallets
    # 12 out before 5 comes back in: the end balance (3.00) is fine, the middle is not.
    with pytest.raises(errors.InsufficientFunds):
        ledger_transfer_many(requests=[_move("o1", a, b, "12.00"), _move("o2", b, a, "5.00")])
    assert not Journal.objects.filter(source="batch").exists()
    a.refresh_from_db()
    assert account_balance(account=a).posted == D("10.00")


@pytest.mark.parametrize(
    ("amount", "error"),
    [("1.001", errors.InvalidAmount)],
)
def test_bad_input_in_a_batch_writes_nothing(wallets, amount, error):
    a, b = wallets
    with pytest.raises(error):
        ledger_transfer_many(requests=[_move("ok", a, b, "1.00"), _move("bad", a, b, amount)])
    assert not Journal.objects.filter(source="batch").exists()


def test_a_batch_inside_the_callers_transaction_leaves_it_usable_after_a_refusal(wallets):
    a, b = wallets
    with transaction.atomic():
        ledger_transfer_many(requests=[_move("kept", a, b, "1.00")])
        with pytest.raises(errors.InsufficientFunds):
            ledger_transfer_many(requests=[_move("t1", a, b, "2.00"), _move("t2", a, b, "9.00")])
        ledger_transfer_many(requests=[_move("after", a, b, "1.00")])
    assert set(
        Journal.objects.filter(source="batch").values_list("idempotency_key", flat=True)
    ) == {
        "kept",
        "after",
    }
    b.refresh_from_db()
    assert account_balance(account=b).posted == D("2.00")
