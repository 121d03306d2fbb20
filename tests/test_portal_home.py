from decimal import Decimal

import pytest

from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client

pytestmark = pytest.mark.django_db


def test_portal_home_shows_the_total_and_recent_movements(client, owner):
    wallet = wallet_for_client(client=owner.client, currency="USD")
    clearing = house_account(kind="psp_clearing", currency="USD", label="test")
    ledger_transfer(
        source="test",
        key="home-1",
        memo="Card deposit",
        legs=[Leg(clearing, "D", Decimal("100.00")), Leg(wallet, "C", Decimal("100.00"))],
    )
    client.force_login(owner)
    body = client.get("/portal/").content.decode()
    assert "No funds yet" not in body
    assert "100.00" in body and "USD" in body
    assert "Card deposit" in body


def test_portal_home_without_wallets_says_what_comes(client, owner):
    client.force_login(owner)
    body = client.get("/portal/").content.decode()
    assert "No funds yet" in body
    assert "No transactions yet" in body


def test_portal_home_totals_wallets_and_live_accounts_not_demo(client, owner):
    from django.utils import timezone

    from clients.models import AccountSnapshot, TradingAccount, TradingServer

    wallet = wallet_for_client(client=owner.client, currency="USD")
    clearing = house_account(kind="psp_clearing", currency="USD", label="test")
    ledger_transfer(
        source="test",
        key="home-2",
        legs=[Leg(clearing, "D", Decimal("250.00")), Leg(wallet, "C", Decimal("250.00"))],
    )
    server = TradingServer.objects.create(
        name="S", url="http://x", manager_login=1, password_sealed="x"
    )
    for login, live, balance in ((7001, True, "1000.50"), (7002, False, "10000.00")):
        account = TradingAccount.objects.create(
            client=owner.client, server=server, login=login, group="g", leverage=100, is_live=live
        )
        AccountSnapshot.objects.create(
            account=account, taken_at=timezone.now(), balance=Decimal(balance),
            equity=Decimal(balance), margin=0, margin_free=Decimal(balance), margin_level=0,
        )  # fmt: skip
    client.force_login(owner)
    body = client.get("/portal/").content.decode()
    assert "1,250.50" in body  # 250.00 in the wallet + 1,000.50 live; the demo 10,000 is not money
    assert "#7002" in body and "Demo" in body


def test_portal_home_lists_unread_notices_until_marked_read(client, owner):
    from clients.notices import notify

    notify(
        client=owner.client, key="t:1", subject="Deposit credited", body="100.00 USD", email=False
    )
    client.force_login(owner)
    assert "Deposit credited" in client.get("/portal/").content.decode()
    client.post("/portal/", {"notices": "read"})
    assert "Deposit credited" not in client.get("/portal/").content.decode()


def test_portal_home_says_what_verification_still_blocks(client, owner):
    client.force_login(owner)
    body = client.get("/portal/").content.decode()
    assert "What verification still needs" in body


def test_a_notice_is_recorded_and_emailed_once_per_cause(
    owner, mailoutbox, django_capture_on_commit_callbacks
):
    from clients.notices import notify

    with django_capture_on_commit_callbacks(execute=True):
        first = notify(client=owner.client, key="deposit:9:credited", subject="Deposit credited")
        again = notify(client=owner.client, key="deposit:9:credited", subject="Deposit credited")
    assert first.pk == again.pk
    assert [m.subject for m in mailoutbox] == ["Deposit credited"]
    assert mailoutbox[0].to == [owner.email]


def test_the_client_360_shows_money_to_finance_and_not_to_support(client, owner):
    from brokerage import roles
    from tests.factories import login_staff, make_staff

    wallet = wallet_for_client(client=owner.client, currency="USD")
    clearing = house_account(kind="psp_clearing", currency="USD", label="test")
    ledger_transfer(
        source="test",
        key="360-1",
        legs=[Leg(clearing, "D", Decimal("75.00")), Leg(wallet, "C", Decimal("75.00"))],
    )
    login_staff(client, make_staff(roles.FINANCE))
    page = client.get(f"/backoffice/clients/{owner.client.pk}/").content.decode()
    assert "USD wallet" in page and "75.00" in page and "No deposits." in page
    login_staff(client, make_staff(roles.SUPPORT))
    page = client.get(f"/backoffice/clients/{owner.client.pk}/").content.decode()
    assert "USD wallet" not in page
