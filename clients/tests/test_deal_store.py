from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from brokerage.secrets_box import SecretUnreadable, seal, unseal
from clients.deal_store import deals_store
from clients.models import Deal, TradingServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def server():
    return TradingServer.objects.create(
        name="Live", url="http://127.0.0.1:1", manager_login=1000, password_sealed=seal("x")
    )


def deal(ticket: int, **over):
    fields = {
        "ticket": ticket,
        "login": 5001,
        "order": ticket + 10,
        "position_id": 77,
        "action": 1,
        "entry": 1,
        "reason": 0,
        "symbol": "EURUSD",
        "volume_ext": 10_000_000,  # 0.1 lot
        "price": Decimal("1.08312"),
        "profit": Decimal("12.50"),
        "swap": Decimal("-0.31"),
        "commission": Decimal("-0.70"),
        "fee": Decimal("0"),
        "time": datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        "time_msc": 1_795_000_000_000 + ticket,
        "comment": "",
        "external_id": "",
        "raw": {"Deal": str(ticket)},
    }
    return SimpleNamespace(**(fields | over))


def test_new_deals_are_inserted_and_a_rerun_writes_nothing(server):
    first = deals_store(server_id=server.pk, deals=[deal(1), deal(2, entry=0), deal(3)])
    assert (first.inserted, first.updated) == (3, 0)
    assert first.new_closing == [1, 3]  # entry 0 opens a position: not a closing deal
    again = deals_store(server_id=server.pk, deals=[deal(1), deal(2, entry=0), deal(3)])
    assert (again.seen, again.inserted, again.updated) == (3, 0, 0)
    stored = Deal.objects.get(server=server, ticket=1)
    assert stored.profit == Decimal("12.50") and stored.volume_ext == 10_000_000


def test_a_dealer_edit_updates_the_row_in_place(server):
    deals_store(server_id=server.pk, deals=[deal(1)])
    edited = deals_store(
        server_id=server.pk, deals=[deal(1, profit=Decimal("9.10"), action=14)]
    )  # re-priced, then cancelled: sell -> sell canceled
    assert (edited.inserted, edited.updated, edited.new_closing) == (0, 1, [])
    row = Deal.objects.get(ticket=1)
    assert (row.profit, row.action) == (Decimal("9.10"), 14)
    assert Deal.objects.count() == 1


def test_an_unknown_action_is_stored_and_flagged_not_dropped(server):
    deals_store(server_id=server.pk, deals=[deal(9, action=42, raw={"Action": "42"})])
    row = Deal.objects.get(ticket=9)
    assert row.unknown_action and row.record == {"Action": "42"}


def test_manager_passwords_are_sealed_and_only_our_key_opens_them(settings):
    token = seal("Password1")
    assert "Password1" not in token and unseal(token) == "Password1"
    settings.SECRET_KEY = "another-key-" * 4
    with pytest.raises(SecretUnreadable, match="enter it again"):
        unseal(token)
