"""The demo provider's signed webhooks through the real view: exactly-once credit, the fee on
its own account, forged and malformed deliveries refused with nothing stored."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from clients.models import Notice
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import house_account, wallet_for_client
from wallets.models import Entry, Journal
from wallets.payments.models import Deposit, PaymentEvent
from wallets.payments.providers.base import EventKind, signature_header
from wallets.payments.providers.demo import SIGNATURE_HEADER, demo_callback, demo_secret
from wallets.payments.services import deposit_create

from .conftest import open_accounts, post_webhook

pytestmark = pytest.mark.django_db
D = Decimal


def _wallet(deposit: Deposit) -> Decimal:
    return account_balance(
        account=wallet_for_client(client=deposit.client, currency=deposit.currency)
    ).posted


def test_the_same_webhook_delivered_three_times_credits_once(client, deposit, path):
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)

    answers = [post_webhook(client, body, headers) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.SUCCEEDED
    assert _wallet(deposit) == D("97.20")
    journals = Journal.objects.filter(
        source="payments", idempotency_key=f"demo:{deposit.provider_ref}"
    )
    assert [j.pk for j in journals] == [deposit.credit_journal_id]
    assert PaymentEvent.objects.filter(deposit=deposit).count() == 1
    assert (
        Notice.objects.filter(client=deposit.client, key=f"deposit:{deposit.pk}:succeeded").count()
        == 1
    )


def test_a_second_event_for_a_credited_deposit_changes_nothing(client, paid):
    body, headers = demo_callback(deposit=paid, kind=EventKind.SUCCEEDED)  # a new event id
    assert post_webhook(client, body, headers).json()["duplicate"] is False
    body, headers = demo_callback(deposit=paid, kind=EventKind.FAILED)
    assert post_webhook(client, body, headers).status_code == 200

    paid.refresh_from_db()
    assert paid.status == Deposit.Status.SUCCEEDED
    assert _wallet(paid) == D("97.20")
    assert Journal.objects.filter(source="payments").count() == 1
    notes = list(
        PaymentEvent.objects.filter(deposit=paid).order_by("id").values_list("error", flat=True)
    )
    assert notes == [
        "",
        "payment.succeeded: the deposit is already Credited.",
        "payment.declined: the deposit is already Credited.",
    ]


def test_the_fee_is_booked_to_fee_income_exactly(client, trader, card):
    deposit = deposit_create(client=trader, method=card, currency="USD", amount=D("33.33"))
    # 0.30 + 2.5 % of 33.33 = 1.13325, half up to the cent
    assert deposit.fee == D("1.13")
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    post_webhook(client, body, headers)
    deposit.refresh_from_db()

    legs = {
        (e.account.kind, e.direction): e.amount
        for e in Entry.objects.filter(journal_id=deposit.credit_journal_id).select_related(
            "account"
        )
    }
    assert legs == {("psp_clearing", "D"): 3333, ("wallet", "C"): 3220, ("fee_income", "C"): 113}
    clearing = house_account(kind="psp_clearing", currency="USD", label="demo")
    assert account_balance(account=clearing).posted == D("-33.33")
    assert account_balance(account=house_account(kind="fee_income", currency="USD")).posted == D(
        "1.13"
    )


def test_a_forged_signature_is_refused_and_nothing_is_paid(client, deposit, path):
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    forged_body = body.replace(b'"amount":"100', b'"amount":"900')
    wrong_key = signature_header(body, "not-the-secret")

    for sent, header in ((forged_body, headers[SIGNATURE_HEADER]), (body, wrong_key)):
        answer = post_webhook(client, sent, {SIGNATURE_HEADER: header})
        assert answer.status_code == 401

    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PENDING
    assert PaymentEvent.objects.count() == 0
    assert not Journal.objects.filter(source="payments").exists()


def test_an_old_signature_is_refused_as_a_replay(client, deposit):
    body, headers = demo_callback(
        deposit=deposit, kind=EventKind.SUCCEEDED, timestamp=int(time.time()) - 3600
    )
    assert post_webhook(client, body, headers).status_code == 401
    assert PaymentEvent.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "v1=abc", "t=now,v1=abc", "t=1700000000,v0=abc"],
    ids=["missing", "no-pairs", "no-timestamp", "bad-timestamp", "unsupported-scheme"],
)
def test_a_malformed_signature_header_is_a_400(client, deposit, header):
    body, _ = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    assert post_webhook(client, body, {SIGNATURE_HEADER: header}).status_code == 400
    assert PaymentEvent.objects.count() == 0


def test_a_signed_body_that_is_not_an_event_is_a_400(client, deposit):
    for body in (
        b"not json",
        b"[]",
        json.dumps({"id": "evt_1", "type": "payment.teleported", "payment": {"id": "x"}}).encode(),
    ):
        header = signature_header(body, demo_secret())
        assert post_webhook(client, body, {SIGNATURE_HEADER: header}).status_code == 400
    assert PaymentEvent.objects.count() == 0
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PENDING


def test_a_webhook_is_a_post(client):
    assert client.get("/webhooks/demo-pay/").status_code == 405


def test_a_decline_fails_the_deposit_and_tells_the_client(client, deposit):
    body, headers = demo_callback(deposit=deposit, kind=EventKind.FAILED, reason="Card expired.")
    post_webhook(client, body, headers)

    deposit.refresh_from_db()
    assert (deposit.status, deposit.failure_reason) == ("failed", "Card expired.")
    assert _wallet(deposit) == D("0")
    notice = Notice.objects.get(client=deposit.client, key=f"deposit:{deposit.pk}:failed")
    assert "did not go through: Card expired." in notice.body


def test_pending_then_success_credits(client, deposit, path):
    for kind in (EventKind.PENDING, EventKind.SUCCEEDED):
        body, headers = demo_callback(deposit=deposit, kind=kind)
        post_webhook(client, body, headers)
    deposit.refresh_from_db()
    assert deposit.status == "succeeded"
    assert PaymentEvent.objects.filter(deposit=deposit).count() == 2


def test_a_payment_of_another_amount_is_not_credited(client, deposit, path):
    deposit.amount = D("1000")  # what the provider is told differs from what we recorded
    body, _ = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    post_webhook(client, body, {SIGNATURE_HEADER: signature_header(body, demo_secret())})

    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PENDING
    event = PaymentEvent.objects.get(deposit=deposit)
    assert event.error == (
        "Paid 1000 USD, but the deposit is for 100 USD: not credited, check by hand."
    )


def test_an_event_for_an_unknown_payment_is_kept_and_answered(client, deposit):
    deposit.provider_ref = "dp_nobody"
    deposit.pk = 999999
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    answer = post_webhook(client, body, headers)

    assert answer.status_code == 200
    event = PaymentEvent.objects.get()
    assert (event.deposit_id, event.error) == (None, "No deposit matches this payment.")


def test_the_client_is_told_by_a_task_enqueued_after_commit(
    client, deposit, monkeypatch, django_capture_on_commit_callbacks
):
    from wallets.payments import tasks

    monkeypatch.undo()  # the real _notify, not the conftest's shortcut
    sent = []
    monkeypatch.setattr(
        tasks.deposit_notify, "apply_async", lambda args, queue: sent.append((args, queue))
    )
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, body, headers)
    assert sent == [([deposit.pk, "succeeded"], "default")]
    assert not Notice.objects.exists()

    tasks.deposit_notify(*sent[0][0])
    tasks.deposit_notify(*sent[0][0])  # a retried task tells once
    [notice] = Notice.objects.filter(client=deposit.client)
    assert (notice.subject, notice.link) == (
        "Deposit credited: 97.20 USD",
        f"/portal/deposit/{deposit.pk}/",
    )
    assert notice.body == (
        "Your deposit of 100.00 USD is in your USD wallet: 97.20 USD after a fee of 2.80 USD."
    )


def test_both_paths_post_the_same_request(client, trader, card):
    """The fast path's posting is byte for byte what _credit would post: the general path
    repeating it finds the key with the same hash (no IdempotencyConflict)."""
    from wallets.payments import services

    deposit = deposit_create(client=trader, method=card, currency="USD", amount=D("250"))
    open_accounts(deposit)
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    post_webhook(client, body, headers)
    deposit.refresh_from_db()
    journal = Journal.objects.get(pk=deposit.credit_journal_id)
    assert (journal.memo, journal.external_ref) == (
        f"Deposit #{deposit.pk} · Card (demo)",
        deposit.provider_ref,
    )

    deposit.status = Deposit.Status.PENDING  # as the general path would see a racing copy
    services._credit(deposit)
    assert Journal.objects.filter(source="payments").count() == 1


def test_a_deposit_that_moved_since_it_was_read_takes_the_general_path(
    client, deposit, monkeypatch
):
    """payments_credit re-checks under the lock; a change made between the read and the call
    rolls its statement back (PY001) and the general path decides."""
    from wallets.payments import services

    open_accounts(deposit)
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    # Declined "between" the read and the call: the read says pending, the row says failed.
    monkeypatch.setattr(
        services, "_FAST_READ", services._FAST_READ.replace("d.status,", "'pending'::text,")
    )
    Deposit.objects.filter(pk=deposit.pk).update(status=Deposit.Status.FAILED)
    assert post_webhook(client, body, headers).status_code == 200

    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.FAILED
    assert not Journal.objects.filter(source="payments").exists()
    event = PaymentEvent.objects.get()
    assert event.error == "Paid after the deposit was Failed: check by hand."
