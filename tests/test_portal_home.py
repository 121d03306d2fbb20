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
