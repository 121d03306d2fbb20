"""Deliveries racing on real PostgreSQL connections, one per thread, released together by a
barrier, through the real webhook view. Each deposit must be credited exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client as Browser

from wallets.ledger.selectors import account_balance
from wallets.ledger.services import wallet_for_client
from wallets.models import Journal
from wallets.payments.models import Deposit, PaymentEvent
from wallets.payments.providers.base import EventKind
from wallets.payments.providers.demo import demo_callback

from .conftest import post_webhook

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


def _credited_once(deposit: Deposit) -> None:
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.SUCCEEDED
    assert Journal.objects.filter(source="payments").count() == 1
    wallet = wallet_for_client(client=deposit.client, currency="USD")
    assert account_balance(account=wallet).posted == D("97.20")


def test_two_racing_deliveries_of_one_webhook_credit_once(deposit, path):
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)

    answers = in_threads(2, lambda i: post_webhook(Browser(), body, headers))

    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True]
    assert PaymentEvent.objects.count() == 1
    _credited_once(deposit)


def test_two_different_success_events_racing_credit_once(deposit, path):
    # Two event ids for one payment (a provider's "completed" and "async succeeded"): the
    # event table can't tell them apart; the deposit's row lock and state must.
    deliveries = [demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED) for _ in range(4)]

    answers = in_threads(4, lambda i: post_webhook(Browser(), *deliveries[i]))

    assert [a.status_code for a in answers if not isinstance(a, BaseException)] == [200] * 4
    assert PaymentEvent.objects.count() == 4
    assert PaymentEvent.objects.filter(error="").count() == 1
    _credited_once(deposit)
