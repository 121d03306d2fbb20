import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from clients.platforms.base import (
    AccountPatch,
    AuthFailed,
    BalanceOp,
    Capability,
    NewAccount,
    NotSupported,
    Selector,
    Transient,
)
from clients.platforms.clock import ServerClock
from clients.platforms.terminal import TerminalPlatform

from . import fake_mt5

CLOCK = ServerClock("America/New_York", 7)
OWN = 5001234


@pytest.fixture(autouse=True)
def mt5() -> Iterator[object]:
    fake_mt5.reset()
    yield fake_mt5
    fake_mt5.reset()


def platform() -> TerminalPlatform:
    return TerminalPlatform(clock=CLOCK, module=fake_mt5)


def deal(ticket: int, when: datetime, **fields: object) -> fake_mt5.TradeDeal:
    t = CLOCK.from_utc(when)
    values: dict[str, object] = {
        "ticket": ticket,
        "order": ticket + 1,
        "time": t,
        "time_msc": t * 1000 + 123,
        "type": 0,
        "entry": 1,
        "magic": 7,
        "position_id": 99,
        "reason": 0,
        "volume": 0.1,
        "price": 1.08527,
        "commission": -0.7,
        "swap": -0.35,
        "profit": 12.3,
        "fee": 0.0,
        "symbol": "EURUSD",
        "comment": "",
        "external_id": "",
    }
    values.update(fields)
    return fake_mt5.TradeDeal(**values)  # type: ignore[arg-type]


def test_the_package_is_not_imported_at_module_import() -> None:
    assert "MetaTrader5" not in sys.modules


def test_without_the_package_calls_are_not_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MetaTrader5", None)  # import fails as on Linux
    with pytest.raises(NotSupported, match="MetaTrader5"):
        TerminalPlatform(clock=CLOCK).ping()


def test_the_package_is_found_through_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MetaTrader5", fake_mt5)
    state = TerminalPlatform(clock=CLOCK).get_account_state(OWN)
    assert state.login == OWN


def test_account_state_of_the_logged_in_account_in_decimals() -> None:
    state = platform().get_account_state(OWN)
    assert state.balance == Decimal("10000.1")
    assert state.equity == Decimal("9947.4")
    assert state.margin_level == Decimal("9167.26")
    assert state.currency_digits == 2
    with pytest.raises(NotSupported, match="logged into 5001234"):
        platform().get_account_state(42)


def test_initialize_passes_the_credentials_once() -> None:
    p = TerminalPlatform(
        login=OWN,
        password="Secret#123",  # noqa: S106
        server="Broker-Demo",
        clock=CLOCK,
        module=fake_mt5,
    )
    p.ping()
    p.ping()
    inits = [c for c in fake_mt5.calls if c[0] == "initialize"]
    assert len(inits) == 1
    assert inits[0][1]["login"] == OWN and inits[0][1]["server"] == "Broker-Demo"


def test_a_failed_login_is_auth_failed() -> None:
    fake_mt5.fail_initialize = True
    p = TerminalPlatform(login=OWN, password="x", server="s", clock=CLOCK, module=fake_mt5)  # noqa: S106
    with pytest.raises(AuthFailed):
        p.ping()


def test_a_lost_terminal_is_transient_and_reinitialised() -> None:
    p = platform()
    p.ping()
    fake_mt5.initialized = False  # the terminal went away
    with pytest.raises(Transient):
        p.ping()
    p.ping()  # initialises again


def test_fetch_deals_converts_units_and_server_times() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    fake_mt5.deals.extend(
        [
            deal(1, summer, volume=0.1),
            deal(2, summer + timedelta(hours=1), type=42, volume=0.0, symbol="", profit=100.0),
            deal(3, summer - timedelta(days=3)),  # outside the window: filtered out
        ]
    )
    deals = platform().fetch_deals([OWN], summer - timedelta(hours=1), summer + timedelta(hours=2))
    assert [d.ticket for d in deals] == [1, 2]
    first, second = deals
    assert first.time == summer + timedelta(milliseconds=123)
    assert first.time_msc == CLOCK.from_utc(summer) * 1000 + 123
    assert first.volume_ext == 10_000_000  # 0.1 lot in 1e-8 lots
    assert first.price == Decimal("1.08527") and first.commission == Decimal("-0.7")
    assert first.swap == Decimal("-0.35") and first.magic == 7
    assert first.login == OWN and first.raw["symbol"] == "EURUSD"
    assert second.action == 42 and second.action_known is False
    (call,) = [c for c in fake_mt5.calls if c[0] == "history_deals_get"]
    date_from, date_to = call[1]
    assert date_from <= summer - timedelta(hours=1) and date_to >= summer + timedelta(hours=2)


def test_other_accounts_and_groups_are_not_supported() -> None:
    now = datetime.now(UTC)
    with pytest.raises(NotSupported):
        platform().fetch_deals([42], now, now)
    with pytest.raises(NotSupported):
        platform().fetch_deals(Selector.for_group("demo*"), now, now)
    with pytest.raises(NotSupported):
        platform().list_positions([OWN, 42])


def test_positions_and_ticks() -> None:
    t = CLOCK.from_utc(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    fake_mt5.positions.append(
        fake_mt5.TradePosition(
            ticket=88,
            time=t,
            time_msc=t * 1000,
            time_update=t,
            time_update_msc=t * 1000,
            type=1,
            magic=0,
            identifier=88,
            reason=0,
            volume=1.5,
            price_open=1.08,
            sl=0.0,
            tp=0.0,
            price_current=1.08527,
            swap=-0.35,
            profit=-790.5,
            symbol="EURUSD",
            comment="",
            external_id="",
        )
    )
    fake_mt5.ticks["EURUSD"] = fake_mt5.Tick(t, 1.08512, 1.08527, 0.0, 0, t * 1000 + 5, 6, 0.0)
    p = platform()
    (position,) = p.list_positions(OWN)
    assert position.volume_ext == 150_000_000 and position.profit == Decimal("-790.5")
    assert position.time_create == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    ticks = p.last_ticks(["EURUSD", "NOPE"])
    assert [x.symbol for x in ticks] == ["EURUSD"] and ticks[0].bid == Decimal("1.08512")


def test_capabilities_and_everything_else_is_not_supported() -> None:
    p = platform()
    assert Capability.FETCH_DEALS in p.capabilities
    assert Capability.BALANCE_OPS not in p.capabilities
    now = datetime.now(UTC)
    calls = [
        lambda: p.create_account(NewAccount("g", "n", 100, "a", "b")),
        lambda: p.get_account(OWN),
        lambda: p.update_account(OWN, AccountPatch(comment="x")),
        lambda: p.apply_balance_op(BalanceOp(OWN, 2, Decimal(1), "r1")),
        lambda: p.find_balance_op(OWN, "r1", now),
        lambda: p.get_group("demo"),
        lambda: p.get_symbol("EURUSD"),
        lambda: p.server_time(),
    ]
    for call in calls:
        with pytest.raises(NotSupported):
            call()


def test_close_shuts_the_terminal_down() -> None:
    p = platform()
    p.ping()
    p.close()
    assert fake_mt5.calls[-1] == ("shutdown", None)
