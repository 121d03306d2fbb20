"""Deal sync and balance operations against the MT5 Web API client, its server faked in the
real wire format (clients/platforms/tests/fake_webapi.py; the simulator tests cover HTTP)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokerage import roles
from brokerage.secrets_box import seal
from clients.models import (
    BalanceOperation,
    Deal,
    SyncCursor,
    SyncRun,
    TradingAccount,
    TradingServer,
)
from clients.platforms.tests.fake_webapi import (
    CLOCK,
    MANAGER_LOGIN,
    MANAGER_PASSWORD,
    URL,
    FakeWebApi,
)
from clients.platforms.webapi import WebApiPlatform, close_all_sessions
from clients.sync import deals_sync
from clients.trading_services import balance_operation_request, balance_operation_send
from tests.factories import ClientFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    yield FakeWebApi()
    close_all_sessions()


@pytest.fixture
def server():
    return TradingServer.objects.create(
        name="Meridian Live", url=URL, manager_login=MANAGER_LOGIN,
        password_sealed=seal(MANAGER_PASSWORD),
    )  # fmt: skip


def platform(fake, password=MANAGER_PASSWORD):
    return WebApiPlatform(URL, MANAGER_LOGIN, password, clock=CLOCK, transport=fake.transport())


def _trades(fake, login, count, start):
    for i in range(count):
        fake.add_deal(
            login, start + i * 60, Action=str(i % 2), Entry="1", Symbol="EURUSD",
            VolumeExt="10000000", Price="1.08000", Profit=f"{i}.25",
        )  # fmt: skip


def test_a_first_sync_stores_the_deals_and_a_second_writes_nothing(fake, server):
    _trades(fake, 5001, 5, fake.now_server - 3600)
    first = deals_sync(server=server, platform=platform(fake))
    assert first.ok and (first.deals_seen, first.deals_written) == (5, 5)
    cursor = SyncCursor.objects.get(server=server)
    assert cursor.last_time_msc == (fake.now_server - 3600 + 4 * 60) * 1000
    deal = Deal.objects.get(server=server, profit=Decimal("4.25"))
    # The server writes its own wall clock; we keep it raw and store UTC beside it.
    assert deal.time == CLOCK.to_utc_ms(deal.time_msc)
    again = deals_sync(server=server, platform=platform(fake))
    assert again.ok and again.deals_written == 0 and Deal.objects.count() == 5


def test_garbage_from_the_server_is_logged_raw_the_cursor_stays_and_the_sync_backs_off(
    fake, server
):
    _trades(fake, 5001, 2, fake.now_server - 600)
    deals_sync(server=server, platform=platform(fake))
    before = SyncCursor.objects.get(server=server).last_time_msc
    fake.fault("/api/deal/get_batch", "garbage")
    run = deals_sync(server=server, platform=platform(fake))
    assert not run.ok and "ProtocolError" in run.error
    assert "<html>Bad Gateway</html>" in run.raw_response
    assert SyncCursor.objects.get(server=server).last_time_msc == before
    # The next beat does not hammer a failing server: it waits (1 minute after one failure).
    assert deals_sync(server=server, platform=platform(fake)) is None
    assert deals_sync(server=server, platform=platform(fake), force=True).ok


def test_a_wrong_manager_password_shows_on_the_health_page(client, fake, server):
    run = deals_sync(server=server, platform=platform(fake, password="wrong-one"))
    assert not run.ok and "AuthFailed" in run.error
    login_staff(client, make_staff(roles.DEALING))
    page = client.get("/backoffice/trading/").content.decode()
    assert "Failing" in page and "AuthFailed" in page and "Next attempt after" in page


def test_an_unknown_action_code_is_kept_and_flagged(fake, server):
    fake.add_deal(5001, fake.now_server - 60, Action="99", Profit="1.00")
    deals_sync(server=server, platform=platform(fake))
    deal = Deal.objects.get(server=server)
    assert deal.unknown_action and deal.record["Action"] == "99"


def test_a_reply_lost_after_the_server_applied_a_deposit_does_not_apply_it_twice(fake, server):
    fake.add_user(5001, balance="100.00")
    account = TradingAccount.objects.create(
        client=ClientFactory(), server=server, login=5001, group="demo\\usd", leverage=100
    )
    op = balance_operation_request(account=account, amount=Decimal("250.00"), comment="deposit")
    fake.fault("/api/trade/balance", "commit_then_timeout")
    first = balance_operation_send(op=op, platform=platform(fake))
    assert first.status == BalanceOperation.Status.UNKNOWN
    assert sum(1 for d in fake.deals if d["Login"] == "5001") == 1  # the server did apply it
    again = balance_operation_send(op=first, platform=platform(fake))
    assert again.status == BalanceOperation.Status.DONE and again.attempts == 2
    applied = [d for d in fake.deals if d["Login"] == "5001"]
    assert len(applied) == 1 and again.deal_ticket == int(applied[0]["Deal"])
    assert fake.hits["/api/trade/balance"] == 1  # looked up, never sent again
    # Done is done: a third call sends nothing.
    balance_operation_send(op=again, platform=platform(fake))
    assert fake.hits["/api/trade/balance"] == 1


def test_the_same_op_ref_for_another_request_is_refused(server):
    account = TradingAccount.objects.create(
        client=ClientFactory(), server=server, login=5002, group="demo\\usd", leverage=100
    )
    balance_operation_request(account=account, amount=Decimal("10"), op_ref="abc")
    from clients.exceptions import ClientError

    with pytest.raises(ClientError, match="already recorded"):
        balance_operation_request(account=account, amount=Decimal("11"), op_ref="abc")
    assert not SyncRun.objects.exists()
