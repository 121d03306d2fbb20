from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from clients.deal_store import deals_store
from clients.models import AccountSnapshot, TradingAccount, TradingServer
from clients.tests.test_deal_store import deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner):
    server = TradingServer.objects.create(
        name="Live", url="http://127.0.0.1:1", manager_login=1000, password_sealed=""
    )
    account = TradingAccount.objects.create(
        client=owner.client, server=server, login=5001, group="real\\standard", leverage=100
    )
    AccountSnapshot.objects.create(
        account=account,
        taken_at=timezone.now(),
        balance=Decimal("1000"),
        equity=Decimal("1012.5"),
        margin=Decimal("25"),
        margin_free=Decimal("987.5"),
        margin_level=Decimal("4050"),
    )
    deals_store(
        server_id=server.pk,
        deals=[
            deal(1, symbol="EURUSD", time=datetime(2026, 11, 2, 9, tzinfo=UTC)),
            deal(2, symbol="XAUUSD", time=datetime(2026, 11, 20, 9, tzinfo=UTC)),
            deal(3, symbol="EURUSD", time=datetime(2026, 11, 21, 9, tzinfo=UTC), comment="=1+1"),
            deal(4, login=6002, symbol="EURUSD"),  # someone else's account
        ],
    )
    return account


def test_a_trader_sees_balance_equity_and_margin_level(client, owner, account):
    client.force_login(owner)
    page = client.get("/portal/accounts/").content.decode()
    assert "#5001" in page and "1012.50 USD" in page and "4050 %" in page


def test_history_filters_by_date_and_symbol_and_exports_csv(client, owner, account):
    client.force_login(owner)
    url = f"/portal/accounts/{account.pk}/history/"
    page = client.get(url).content.decode()
    assert "3 deals" in page  # the other login's deal is not here
    filtered = client.get(url, {"since": "2026-11-10", "symbol": "EURUSD"}).content.decode()
    assert "1 deal" in filtered and "2026-11-21 09:00:00" in filtered
    bad = client.get(url, {"since": "2026-11-22", "until": "2026-11-01"}).content.decode()
    assert "The end date is before the start date." in bad
    csv = b"".join(client.get(url, {"format": "csv", "symbol": "EURUSD"}).streaming_content)
    lines = csv.decode().strip().splitlines()
    assert lines[0].startswith("Time (UTC),Ticket,Type,Entry,Symbol,Lots")
    assert len(lines) == 3 and ",0.1," in lines[1] and ",12.50," in lines[1]


def test_another_traders_account_is_not_found(client, outsider, account):
    client.force_login(outsider)
    assert client.get(f"/portal/accounts/{account.pk}/history/").status_code == 404
