"""Concurrent callers on real PostgreSQL connections, one per thread, released together by a
barrier (hordak's test_concurrently.py). Each test here would fail without the row locks,
the ordered locking, the UNIQUE idempotency key or the lock-free house accounts."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from tests.factories import ClientFactory
from wallets.ledger import exceptions as errors
from wallets.ledger.selectors import account_balance, ledger_violations
from wallets.ledger.services import (
    Leg,
    TransferRequest,
    house_account,
    ledger_hold,
    ledger_post_pending,
    ledger_reverse,
    ledger_transfer,
    ledger_transfer_many,
    ledger_void_pending,
    wallet_for_client,
)
from wallets.models import Journal, LedgerAccount

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in `count` threads, each on its own connection, started together.
    Returns each thread's result or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier, not after it
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # the test inspects it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (a lock never released?)"
    return results


def wallet() -> LedgerAccount:
    return wallet_for_client(client=ClientFactory(), currency="USD")


def fund(account: LedgerAccount, amount: str) -> None:
    clearing = house_account(kind="psp_clearing", currency="USD", label="test")
    ledger_transfer(
        source="test.deposit",
        key=uuid.uuid4().hex,
        legs=[Leg(clearing, "D", D(amount)), Leg(account, "C", D(amount))],
    )


def balance(account: LedgerAccount):
    account.refresh_from_db()
    return account_balance(account=account)


def refused(results: list[Any]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


@pytest.mark.parametrize("how", ["hold", "transfer"])
def test_ten_withdrawals_against_funds_for_four_let_exactly_four_through(how):
    payer, payee = wallet(), wallet()
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    fund(payer, "40.00")
    lowest = [D("40.00")]
    done = threading.Event()

    def watch() -> None:
        # The committed available balance, read over and over while the withdrawals run.
        try:
            with connection.cursor() as cursor:
                while not done.is_set():
                    cursor.execute(
                        "SELECT credits_posted - debits_posted - debits_pending"
                        " FROM wallets_ledgeraccount WHERE id = %s",
                        [payer.pk],
                    )
                    lowest[0] = min(lowest[0], D(cursor.fetchone()[0]) / 100)
        finally:
            connection.close()

    def withdraw(i: int):
        if how == "hold":
            return ledger_hold(
                source="test", key=f"w{i}", debit=payer, credit=transit, amount=D("10")
            )
        return ledger_transfer(
            source="test",
            key=f"w{i}",
            legs=[Leg(payer, "D", D("10")), Leg(payee, "C", D("10"))],
        )

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = in_threads(10, withdraw)
    finally:
        done.set()
        watcher.join()

    failures = refused(results)
    assert len(failures) == 6
    for failure in failures:
        assert isinstance(failure, errors.InsufficientFunds), repr(failure)
        assert "0.00 USD available" in str(failure)
    assert len({r.journal_id for r in results if not isinstance(r, BaseException)}) == 4
    assert lowest[0] >= 0
    assert balance(payer).available == D("0.00")
    assert Journal.objects.filter(source="test").count() == 4
    assert ledger_violations() == {}


def test_opposite_transfers_between_two_wallets_never_deadlock():
    a, b = wallet(), wallet()
    fund(a, "1000.00")
    fund(b, "1000.00")
    rounds = 25

    def shuttle(i: int) -> int:
        # Even threads send a -> b, odd ones b -> a; legs listed in the sending order, so
        # locking in leg order (not in id order) would deadlock.
        payer, payee = (a, b) if i % 2 == 0 else (b, a)
        amount = D(i + 1)
        for n in range(rounds):
            if n % 5 == 4:  # sometimes as a batch, which locks all its accounts up front
                ledger_transfer_many(
                    requests=[
                        TransferRequest(
                            source="test",
                            key=f"{i}:{n}:{half}",
                            legs=[
                                Leg(payer, "D", amount / 2),
                                Leg(payee, "C", amount / 2),
                            ],
                        )
                        for half in ("x", "y")
                    ]
                )
            else:
                ledger_transfer(
                    source="test",
                    key=f"{i}:{n}",
                    legs=[Leg(payer, "D", amount), Leg(payee, "C", amount)],
                )
        return i

    results = in_threads(6, shuttle)

    assert refused(results) == []
    # a sent 1 + 3 + 5 per round and received 2 + 4 + 6.
    assert balance(a).posted == D("1000.00") + rounds * (2 + 4 + 6 - 1 - 3 - 5)
    assert balance(b).posted == D("1000.00") - rounds * (2 + 4 + 6 - 1 - 3 - 5)
    assert ledger_violations() == {}


def test_one_idempotency_key_from_eight_threads_at_once_writes_one_journal():
    payer, payee = wallet(), wallet()
    fund(payer, "100.00")

    def pay(i: int):
        return ledger_transfer(
            source="test",
            key="the-same-key",
            legs=[Leg(payer, "D", D("7.50")), Leg(payee, "C", D("7.50"))],
        )

    results = in_threads(8, pay)

    assert refused(results) == []
    assert len({r.journal_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Journal.objects.filter(source="test", idempotency_key="the-same-key").count() == 1
    assert balance(payer).posted == D("92.50")
    assert balance(payee).posted == D("7.50")
    assert ledger_violations() == {}


def test_one_key_raced_with_two_different_requests_keeps_only_the_first():
    payer, payee = wallet(), wallet()
    fund(payer, "100.00")

    def pay(i: int):
        amount = D("1") if i % 2 else D("2")
        return ledger_transfer(
            source="test",
            key="contested",
            legs=[Leg(payer, "D", amount), Leg(payee, "C", amount)],
        )

    results = in_threads(8, pay)

    [journal] = Journal.objects.filter(source="test", idempotency_key="contested")
    winner_amount = journal.entries.get(direction="C").amount
    winners = [i for i in range(8) if (100 if i % 2 else 200) == winner_amount]
    for i, result in enumerate(results):
        if i in winners:
            assert result.journal_id == journal.pk, repr(result)
        else:
            assert isinstance(result, errors.IdempotencyConflict), repr(result)
    assert sum(results[i].created for i in winners) == 1
    assert balance(payee).posted == D(winner_amount) / 100
    assert ledger_violations() == {}


def test_one_key_from_eight_threads_resolves_a_hold_or_reverses_a_journal_once():
    # A retry racing its first attempt, on the journals with a UNIQUE pending_id or
    # reverses_id: the loser must get the first result, not "already resolved/reversed".
    payer, payee = wallet(), wallet()
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    fund(payer, "100.00")
    rounds, threads = 60, 8
    targets = []
    for r in range(rounds):
        if r % 2:
            legs = [Leg(payer, "D", D("1")), Leg(payee, "C", D("1"))]
            targets.append(ledger_transfer(source="test", key=f"t{r}", legs=legs).journal_id)
        else:
            hold = ledger_hold(source="test", key=f"h{r}", debit=payer, credit=transit, amount=D(1))
            targets.append(hold.journal_id)
    each_round = threading.Barrier(threads)

    def retry_storm(i: int) -> list[Any]:
        results = []
        for r, target in enumerate(targets):
            each_round.wait(timeout=30)
            try:
                if r % 2:
                    results.append(ledger_reverse(source="test", key=f"r{r}", journal_id=target))
                else:
                    results.append(ledger_post_pending(source="test", key=f"p{r}", hold_id=target))
            except errors.LedgerError as exc:
                results.append(exc)
        return results

    per_thread = in_threads(threads, retry_storm)

    assert refused(per_thread) == []
    for r in range(rounds):
        outcomes = [results[r] for results in per_thread]
        assert refused(outcomes) == [], f"round {r}"
        assert len({o.journal_id for o in outcomes}) == 1
        assert sum(o.created for o in outcomes) == 1
    assert Journal.objects.filter(source="test", kind__in=["post", "reversal"]).count() == rounds
    assert balance(payer).posted == D("70.00")  # 30 holds posted, 30 transfers reversed
    assert ledger_violations() == {}


def test_a_hold_raced_by_posts_and_voids_is_resolved_exactly_once():
    payer = wallet()
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    fund(payer, "50.00")
    hold = ledger_hold(source="test", key="hold", debit=payer, credit=transit, amount=D("30"))

    def resolve(i: int):
        if i % 2:
            return ledger_void_pending(source="test", key=f"void-{i}", hold_id=hold.journal_id)
        return ledger_post_pending(source="test", key=f"post-{i}", hold_id=hold.journal_id)

    results = in_threads(8, resolve)

    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    for failure in refused(results):
        assert isinstance(failure, errors.HoldAlreadyResolved), repr(failure)
    resolution = Journal.objects.get(pending_id=hold.journal_id)
    assert resolution.pk == winners[0].journal_id
    expected = D("20.00") if resolution.kind == Journal.Kind.POST else D("50.00")
    after = balance(payer)
    assert (after.posted, after.pending_debits, after.available) == (
        expected,
        D("0.00"),
        expected,
    )
    assert ledger_violations() == {}


def test_many_deposits_through_one_house_account_all_succeed():
    wallets = [wallet() for _ in range(8)]
    clearing = house_account(kind="psp_clearing", currency="USD", label="hot")
    per_thread = 20

    def deposit(i: int) -> int:
        for n in range(per_thread):
            ledger_transfer(
                source="test",
                key=f"dep:{i}:{n}",
                legs=[Leg(clearing, "D", D("1.25")), Leg(wallets[i], "C", D("1.25"))],
            )
        return per_thread

    results = in_threads(len(wallets), deposit)

    assert refused(results) == []
    assert account_balance(account=clearing).posted == D("-1.25") * per_thread * len(wallets)
    for w in wallets:
        assert balance(w).posted == D("1.25") * per_thread
    assert ledger_violations() == {}


def test_an_open_deposit_does_not_block_others_through_the_same_house_account():
    first, second = wallet(), wallet()
    clearing = house_account(kind="psp_clearing", currency="USD", label="hot")
    posted, release = threading.Event(), threading.Event()

    def slow_deposit() -> None:
        # A deposit whose transaction stays open (a slow caller) after posting.
        try:
            with transaction.atomic():
                ledger_transfer(
                    source="test",
                    key="slow",
                    legs=[Leg(clearing, "D", D("5")), Leg(first, "C", D("5"))],
                )
                posted.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    slow = threading.Thread(target=slow_deposit)
    slow.start()
    try:
        assert posted.wait(timeout=30)
        with transaction.atomic(), connection.cursor() as cursor:
            # Had the house row been locked by the open deposit, this would time out.
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            ledger_transfer(
                source="test",
                key="fast",
                legs=[Leg(clearing, "D", D("3")), Leg(second, "C", D("3"))],
            )
    finally:
        release.set()
        slow.join()
    assert balance(second).posted == D("3.00")
    assert account_balance(account=clearing).posted == D("-8.00")
    assert ledger_violations() == {}
