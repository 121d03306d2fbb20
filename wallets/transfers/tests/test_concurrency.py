"""Races on PostgreSQL: the same confirmation submitted twice at the same moment, and the
task and the resolver working one lost reply at once. One transfer, one deal on the server."""

from __future__ import annotations

import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection

from clients.platforms.base import comment_has_op_ref
from wallets.transfers.models import Transfer
from wallets.transfers.services import (
    transfer_offer,
    transfer_process,
    transfer_submit,
    transfer_token_sign,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _race(target, args_list):
    barrier = threading.Barrier(len(args_list))
    results, errors = [], []

    def run(args):
        try:
            barrier.wait()
            results.append(target(*args))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_two_racing_submits_of_one_confirmation_make_one_transfer(trader, live_account):
    offer = transfer_offer(
        client=trader,
        direction=Transfer.Direction.TO_ACCOUNT,
        account_id=live_account.pk,
        amount=Decimal("300"),
    )
    token = transfer_token_sign(client=trader, offer=offer)
    with mock.patch("wallets.transfers.tasks.transfer_send.apply_async"):
        results = _race(lambda: transfer_submit(client=trader, token=token), [(), ()])
    assert {t.pk for t, _ in results} == {Transfer.objects.get().pk}
    assert sorted(created for _, created in results) == [False, True]


def test_the_task_and_the_resolver_at_once_send_one_operation(
    sim, sim_server, trader, live_account
):
    offer = transfer_offer(
        client=trader,
        direction=Transfer.Direction.TO_ACCOUNT,
        account_id=live_account.pk,
        amount=Decimal("300"),
    )
    with mock.patch("wallets.transfers.tasks.transfer_send.apply_async"):
        transfer, _ = transfer_submit(
            client=trader, token=transfer_token_sign(client=trader, offer=offer)
        )
    sim_server.configure_faults({"latency_ms": 100})
    results = _race(lambda: transfer_process(transfer_id=transfer.pk), [(), (), ()])
    assert all(t.pk == transfer.pk for t in results)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DONE
    op_ref = transfer.balance_op.op_ref
    deals = [
        d
        for d in sim.deals.values()
        if d.login == live_account.login and comment_has_op_ref(d.comment, op_ref)
    ]
    assert len(deals) == 1 and sim.users[live_account.login].balance == Decimal("300.00")
