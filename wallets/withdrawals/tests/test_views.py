from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from tests.factories import login_staff
from wallets.withdrawals.models import Withdrawal
from wallets.withdrawals.services import withdrawal_approve

from .conftest import IBAN, request, verified_client

pytestmark = pytest.mark.django_db

FORM = {
    "currency": "USD",
    "amount": "120.50",
    "destination": "bank",
    "iban": "DE89 3704 0044 0532 0130 00",
    "bic": "COBADEFFXXX",
    "account_holder": "Liam Novak",
}


def test_the_form_shows_balance_and_limit(client, trader):
    client.force_login(trader.user)
    body = client.get("/portal/withdraw/").content.decode()
    assert "Available in USD" in body and "2,500.00" in body
    assert "Left today" in body and "10,000.00" in body


def test_withdraw_confirms_then_holds_once(client, trader):
    client.force_login(trader.user)
    step1 = client.post("/portal/withdraw/", FORM)
    body = step1.content.decode()
    assert "Confirm the withdrawal" in body
    assert (
        "Withdraw 120.50 USD from your USD wallet to bank account DE89 3704 0044 0532 0130 00 "
        "(Liam Novak)" in body
    )
    assert not Withdrawal.objects.exists()  # nothing moves before the confirmation
    token = step1.context["token"]
    confirm = {**FORM, "token": token, "confirm": "1"}
    done = client.post("/portal/withdraw/", confirm)
    withdrawal = Withdrawal.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/portal/withdrawals/{withdrawal.pk}/"
    assert withdrawal.amount == Decimal("120.50") and withdrawal.iban == IBAN
    again = client.post("/portal/withdraw/", confirm)  # the double click
    assert again.status_code == 302 and Withdrawal.objects.count() == 1


def test_errors_show_under_the_field_and_keep_the_input(client, trader):
    client.force_login(trader.user)
    body = client.post("/portal/withdraw/", {**FORM, "amount": "9999"}).content.decode()
    assert "You can withdraw at most 2,500.00 USD." in body
    assert 'value="9999"' in body
    body = client.post("/portal/withdraw/", {**FORM, "iban": "DE00 1234"}).content.decode()
    assert "is not a valid IBAN" in body or "wrong length" in body


def test_a_client_below_the_level_is_told_what_to_do(client, db):
    low = verified_client(level=1)
    client.force_login(low.user)
    body = client.get("/portal/withdraw/").content.decode()
    assert "Withdrawing needs fully verified status (level 2)" in body
    assert "proof of address" in body


def test_another_clients_withdrawal_is_a_404(client, trader, outsider):
    withdrawal = request(trader, "100")
    client.force_login(outsider)
    assert client.get(f"/portal/withdrawals/{withdrawal.pk}/").status_code == 404
    assert (
        client.post(f"/portal/withdrawals/{withdrawal.pk}/", {"action": "cancel"}).status_code
        == 404
    )
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REQUESTED


def test_the_client_sees_each_step_and_cancels(client, trader):
    withdrawal = request(trader, "100")
    client.force_login(trader.user)
    body = client.get("/portal/withdrawals/").content.decode()
    assert "Waiting for approval" in body and "Cancel" in body
    client.post(f"/portal/withdrawals/{withdrawal.pk}/", {"action": "cancel"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELLED
    body = client.get(f"/portal/withdrawals/{withdrawal.pk}/").content.decode()
    assert "Cancelled" in body and "100.00 USD is available again." in body


def test_staff_notes_on_approvals_stay_internal(client, trader, finance, finance2):
    withdrawal = request(trader, "1500")
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance, note="Internal: rang the bank.")
    client.force_login(trader.user)
    body = client.get(f"/portal/withdrawals/{withdrawal.pk}/").content.decode()
    assert "Waiting for a second approval" in body
    assert "rang the bank" not in body and "Felix" not in body


def test_a_non_finance_staff_member_gets_403_on_the_queue(client, support):
    login_staff(client, support)
    assert client.get("/backoffice/payments/withdrawals/").status_code == 403


def test_the_queue_shows_oldest_first_with_who_may_approve(client, trader, finance, finance2):
    first = request(trader, "1500")
    second = request(trader, "50")
    withdrawal_approve(withdrawal_id=first.pk, actor=finance)
    login_staff(client, finance2)
    response = client.get("/backoffice/payments/withdrawals/")
    rows = response.context["rows"]
    assert [w.pk for w, _, _ in rows] == [first.pk, second.pk]
    assert [u.pk for u in rows[0][2]] == [finance2.pk]  # Felix approved; Fiona may approve next
    body = response.content.decode()
    assert "Waiting for a second approval" in body and "(1/2)" in body


def test_the_queue_filters_and_exports_csv(client, trader, finance):
    request(trader, "1500")
    request(trader, "50")
    login_staff(client, finance)
    response = client.get(
        "/backoffice/payments/withdrawals/?status=pending&amount_min=100&format=csv"
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Withdrawal", "Requested (UTC)", "Client id"]
    assert len(rows) == 2 and rows[1][5] == "1500.00" and rows[1][6] == "USD"


def test_approving_asks_for_confirmation_first(client, trader, finance):
    withdrawal = request(trader, "100")
    login_staff(client, finance)
    url = f"/backoffice/payments/withdrawals/{withdrawal.pk}/"
    body = client.get(url).content.decode()
    assert "Recent money history" in body
    step = client.post(url, {"action": "approve", "note": "ok"})
    assert f"Approve withdrawal #{withdrawal.pk} of 100.00 USD" in step.content.decode()
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REQUESTED
    done = client.post(url, {"action": "approve", "note": "ok", "confirm": "1"})
    assert done.status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.APPROVED_FULLY
    body = client.post(url, {"action": "paid", "reference": ""}).content.decode()
    assert "Enter the payout&#x27;s reference." in body
    client.post(url, {"action": "paid", "reference": "SEPA-1", "confirm": "1"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID


def test_an_auditor_sees_but_cannot_decide(client, trader):
    from brokerage import roles
    from tests.factories import make_staff

    withdrawal = request(trader, "100")
    auditor = make_staff(roles.AUDITOR)
    login_staff(client, auditor)
    url = f"/backoffice/payments/withdrawals/{withdrawal.pk}/"
    assert "Only finance staff may decide withdrawals." in client.get(url).content.decode()
    assert client.post(url, {"action": "approve", "confirm": "1"}).status_code == 403


def test_the_queue_flags_what_waits_too_long(client, trader, finance):
    from datetime import timedelta

    from django.utils import timezone

    old = request(trader, "100")
    Withdrawal.objects.filter(pk=old.pk).update(requested_at=timezone.now() - timedelta(days=4))
    request(trader, "50")
    login_staff(client, finance)
    response = client.get("/backoffice/payments/withdrawals/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')  # htmx gets the table only
    assert '<span class="status status-bad">4 days</span>' in body
    ages = [age.flag for _, age, _ in response.context["rows"]]
    assert ages == ["bad", ""]
