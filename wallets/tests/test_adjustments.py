"""Manual adjustments under maker-checker: one finance person asks, another decides, and the
ledger moves exactly once, only on approval."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from brokerage import roles
from tests.factories import ClientFactory, login_staff, make_staff
from wallets.exceptions import AdjustmentError
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.models import Journal, ManualAdjustment
from wallets.services import adjustment_approve, adjustment_reject, adjustment_request

D = Decimal


@pytest.fixture
def maker(db):
    return make_staff(roles.FINANCE, first_name="Felix", last_name="Finance")


@pytest.fixture
def checker(db):
    return make_staff(roles.FINANCE, first_name="Fiona", last_name="Finance")


@pytest.fixture
def trader(db):
    return ClientFactory()


def _request(trader, maker, *, direction="credit", amount="25.00", currency="USD"):
    return adjustment_request(
        client=trader,
        currency=currency,
        direction=direction,
        amount=D(amount),
        reason=ManualAdjustment.Reason.GOODWILL,
        reason_text="Slippage on ticket 4411 refunded.",
        actor=maker,
    )


def _fund(wallet, amount):
    clearing = house_account(kind="psp_clearing", currency=wallet.currency_id, label="test")
    ledger_transfer(
        source="test.deposit",
        key=f"fund-{wallet.pk}-{amount}",
        legs=[Leg(clearing, "D", D(amount)), Leg(wallet, "C", D(amount))],
    )


def _posted(adjustment):
    adjustment.account.refresh_from_db()
    return account_balance(account=adjustment.account).posted


@pytest.mark.django_db
def test_a_request_moves_nothing_until_a_second_finance_person_approves(trader, maker, checker):
    adjustment = _request(trader, maker)
    assert adjustment.status == "pending"
    assert _posted(adjustment) == D("0.00")
    assert not Journal.objects.filter(source="adjustment").exists()

    approved = adjustment_approve(adjustment_id=adjustment.pk, actor=checker, note="OK")
    assert approved.status == "approved"
    assert approved.decided_by == checker
    assert _posted(adjustment) == D("25.00")
    journal = Journal.objects.get(source="adjustment")
    assert (journal.idempotency_key, journal.kind, journal.actor) == (
        f"adjustment:{adjustment.pk}",
        "adjustment",
        checker,
    )
    assert journal.memo == "Manual adjustment: Goodwill gesture"
    house = house_account(kind="adjustments", currency="USD")
    assert account_balance(account=house).posted == D("-25.00")
    assert approved.journal == journal


@pytest.mark.django_db
def test_the_requester_cannot_approve_their_own_adjustment(trader, maker):
    adjustment = _request(trader, maker)
    with pytest.raises(AdjustmentError) as refused:
        adjustment_approve(adjustment_id=adjustment.pk, actor=maker)
    assert refused.value.message == (
        "You requested this adjustment, so another finance person must decide it."
    )
    with pytest.raises(AdjustmentError):
        adjustment_reject(adjustment_id=adjustment.pk, actor=maker, note="never mind")
    adjustment.refresh_from_db()
    assert adjustment.status == "pending"
    assert _posted(adjustment) == D("0.00")


@pytest.mark.django_db
def test_the_database_refuses_the_same_person_as_maker_and_checker(trader, maker, checker):
    adjustment = _request(trader, maker)
    with (
        pytest.raises(IntegrityError, match="adjustment_maker_is_not_checker"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE wallets_manualadjustment SET status = 'rejected', decided_by_id = %s,"
            " decided_at = now() WHERE id = %s",
            [maker.pk, adjustment.pk],
        )
    with (
        pytest.raises(IntegrityError, match="adjustment_maker_is_not_checker"),
        transaction.atomic(),
    ):
        ManualAdjustment.objects.create(
            account=adjustment.account,
            direction="credit",
            amount=D("1"),
            currency_id="USD",
            reason="other",
            reason_text="raw insert",
            requested_by=checker,
            status="rejected",
            decided_by=checker,
            decided_at=timezone.now(),
        )
    # ...while another person deciding is allowed by the same constraint.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallets_manualadjustment SET status = 'rejected', decided_by_id = %s,"
            " decided_at = now() WHERE id = %s",
            [checker.pk, adjustment.pk],
        )


@pytest.mark.django_db
def test_approving_twice_posts_exactly_once(trader, maker, checker):
    adjustment = _request(trader, maker)
    adjustment_approve(adjustment_id=adjustment.pk, actor=checker)
    admin = make_staff(roles.ADMIN)
    with pytest.raises(AdjustmentError) as again:
        adjustment_approve(adjustment_id=adjustment.pk, actor=admin)
    assert again.value.message == "This adjustment was already approved by Fiona Finance."
    with pytest.raises(AdjustmentError):
        adjustment_approve(adjustment_id=adjustment.pk, actor=checker)
    assert Journal.objects.filter(source="adjustment").count() == 1
    assert _posted(adjustment) == D("25.00")


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_the_same_moment_post_once(trader, maker, checker):
    """Without the row lock both would read 'pending' and both mark it approved (the ledger
    key would still stop a second posting, but the second approver would be told it worked)."""
    adjustment = _request(trader, maker)
    other = make_staff(roles.FINANCE, first_name="Otto")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(actor):
        try:
            barrier.wait()
            adjustment_approve(adjustment_id=adjustment.pk, actor=actor)
            outcomes.append("approved")
        except AdjustmentError as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (checker, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("approved") == 1
    [refusal] = [o for o in outcomes if o != "approved"]
    assert refusal.startswith("This adjustment was already approved by ")
    assert Journal.objects.filter(source="adjustment").count() == 1
    assert _posted(adjustment) == D("25.00")


@pytest.mark.django_db
def test_a_rejected_adjustment_posts_nothing(trader, maker, checker):
    adjustment = _request(trader, maker)
    with pytest.raises(AdjustmentError) as no_note:
        adjustment_reject(adjustment_id=adjustment.pk, actor=checker, note=" ")
    assert no_note.value.message == "Say why you reject it: the requester reads this."
    rejected = adjustment_reject(
        adjustment_id=adjustment.pk, actor=checker, note="Ticket 4411 had no slippage."
    )
    assert (rejected.status, rejected.decided_by, rejected.journal) == ("rejected", checker, None)
    with pytest.raises(AdjustmentError, match="already rejected by Fiona Finance"):
        adjustment_approve(adjustment_id=adjustment.pk, actor=checker)
    assert not Journal.objects.filter(source="adjustment").exists()
    assert _posted(adjustment) == D("0.00")


@pytest.mark.django_db
def test_a_debit_larger_than_the_wallet_is_refused_when_asked_and_when_approved(
    trader, maker, checker
):
    wallet = wallet_for_client(client=trader, currency="USD")
    _fund(wallet, "30.00")
    with pytest.raises(AdjustmentError) as too_big:
        _request(trader, maker, direction="debit", amount="30.01")
    assert too_big.value.message == ("The wallet has 30.00 USD available; a debit can't be larger.")
    adjustment = _request(trader, maker, direction="debit", amount="20.00")
    # The client spends meanwhile.
    bank = house_account(kind="bank_omnibus", currency="USD")
    ledger_transfer(
        source="test", key="spend", legs=[Leg(wallet, "D", D("15")), Leg(bank, "C", D("15"))]
    )
    with pytest.raises(AdjustmentError) as short:
        adjustment_approve(adjustment_id=adjustment.pk, actor=checker)
    assert short.value.message.startswith("The wallet now has only 15.00 USD available")
    adjustment.refresh_from_db()
    assert adjustment.status == "pending"


@pytest.mark.django_db
def test_only_finance_staff_may_ask(trader):
    auditor = make_staff(roles.AUDITOR)
    with pytest.raises(AdjustmentError, match="Only finance staff"):
        _request(trader, auditor)


# --- the pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_request_form_prefills_from_the_wallet_and_explains_errors(client, trader, maker):
    wallet = wallet_for_client(client=trader, currency="EUR")
    login_staff(client, maker)
    form = client.get(f"/backoffice/adjustments/new/?account={wallet.pk}").context["form"]
    assert form.initial["client"] == trader.user.email
    assert form.initial["currency"] == "EUR"

    bad = client.post(
        "/backoffice/adjustments/new/",
        {
            "client": "nobody@example.test",
            "currency": "USD",
            "direction": "credit",
            "amount": "1.234",
            "reason": "goodwill",
            "reason_text": "",
        },
    )
    assert bad.context["form"].errors == {
        "client": ["No client has the e-mail nobody@example.test."],
        "reason_text": ["Explain the adjustment for the approver."],
    }
    too_precise = client.post(
        "/backoffice/adjustments/new/",
        {
            "client": trader.user.email,
            "currency": "USD",
            "direction": "credit",
            "amount": "1.234",
            "reason": "goodwill",
            "reason_text": "why",
        },
    )
    assert too_precise.context["form"].errors == {
        "amount": ["1.234 has more decimals than USD allows (2)."]
    }
    made = client.post(
        "/backoffice/adjustments/new/",
        {
            "client": trader.user.email,
            "currency": "EUR",
            "direction": "credit",
            "amount": "12.5",
            "reason": "fee_refund",
            "reason_text": "Double fee charged.",
        },
        follow=True,
    )
    adjustment = ManualAdjustment.objects.get()
    assert (adjustment.account, adjustment.amount, adjustment.requested_by) == (
        wallet,
        D("12.5"),
        maker,
    )
    assert "is waiting for a second finance person to approve it" in made.content.decode()


@pytest.mark.django_db
def test_the_queue_shows_who_asked_and_who_may_approve(client, trader, maker, checker):
    _request(trader, maker)
    auditor = make_staff(roles.AUDITOR)
    login_staff(client, auditor)
    body = client.get("/backoffice/adjustments/").content.decode()
    assert "Felix Finance" in body  # asked
    assert "Fiona Finance" in body  # may approve
    [(_, approvers)] = client.get("/backoffice/adjustments/").context["rows"]
    assert approvers == [checker]  # not the requester, not the read-only auditor
    assert "+25.00&nbsp;USD" in body


@pytest.mark.django_db
def test_the_requester_sees_no_approve_button_and_a_direct_post_is_a_form_error(
    client, trader, maker
):
    adjustment = _request(trader, maker)
    login_staff(client, maker)
    page = client.get(f"/backoffice/adjustments/{adjustment.pk}/").content.decode()
    assert 'value="approve"' not in page
    assert "You asked for this adjustment, so another finance person must approve it." in page
    response = client.post(
        f"/backoffice/adjustments/{adjustment.pk}/", {"decision": "approve", "note": ""}
    )
    assert response.context["form"].non_field_errors() == [
        "You requested this adjustment, so another finance person must decide it."
    ]
    assert "You requested this adjustment" in response.content.decode()
    assert not Journal.objects.filter(source="adjustment").exists()


@pytest.mark.django_db
def test_a_checker_approves_from_the_page_and_a_second_click_posts_nothing_more(
    client, trader, maker, checker
):
    adjustment = _request(trader, maker)
    login_staff(client, checker)
    page = client.get(f"/backoffice/adjustments/{adjustment.pk}/").content.decode()
    assert f"Approve: credit 25.00 USD to {adjustment.account.name}" in page
    url = f"/backoffice/adjustments/{adjustment.pk}/"
    done = client.post(url, {"decision": "approve", "note": "Checked the ticket."}, follow=True)
    assert f"Adjustment #{adjustment.pk} approved and posted." in done.content.decode()
    again = client.post(url, {"decision": "approve", "note": ""})
    assert again.context["form"].non_field_errors() == [
        "This adjustment was already approved by Fiona Finance."
    ]
    assert Journal.objects.filter(source="adjustment").count() == 1
    journal = Journal.objects.get(source="adjustment")
    # The journal page links back to the adjustment it posts.
    login_staff(client, maker)
    body = client.get(f"/backoffice/ledger/journals/{journal.pk}/").content.decode()
    assert f'href="/backoffice/adjustments/{adjustment.pk}/"' in body


@pytest.mark.django_db
def test_a_reject_needs_a_note_and_an_auditor_may_look_but_not_decide(
    client, trader, maker, checker
):
    adjustment = _request(trader, maker)
    url = f"/backoffice/adjustments/{adjustment.pk}/"
    login_staff(client, make_staff(roles.AUDITOR))
    assert client.get(url).status_code == 200
    assert client.post(url, {"decision": "approve"}).status_code == 403
    login_staff(client, checker)
    no_note = client.post(url, {"decision": "reject", "note": ""})
    assert no_note.context["form"].errors == {
        "note": ["Say why you reject it: the requester reads this."]
    }
    client.post(url, {"decision": "reject", "note": "Duplicate of #1."})
    adjustment.refresh_from_db()
    assert adjustment.status == "rejected"
    assert not Journal.objects.filter(source="adjustment").exists()
