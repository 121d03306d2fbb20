from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from mt5sim import ManualClock, SimServer, Simulator, utc_datetime_to_server
from mt5sim.model import VOLUME_EXT_PER_LOT

from .conftest import call, code, handshake

GOOD_PW = "Abcd#1234"


def all_strings(value: Any) -> bool:
    if isinstance(value, dict):
        return all(all_strings(v) for v in value.values())
    if isinstance(value, list):
        return all(all_strings(v) for v in value)
    return isinstance(value, str)


def add_user(api: httpx.Client, **body: Any) -> dict[str, Any]:
    payload = {"PassMain": GOOD_PW, "PassInvestor": GOOD_PW, **body}
    params = {"group": "real\\standard", "name": "Jane Roe", "leverage": "100"}
    return call(api, "/api/user/add", "POST", params=params, json=payload)


@pytest.mark.parametrize(
    ("when", "hours"),
    [
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), 2),
        (datetime(2026, 7, 15, 12, 0, tzinfo=UTC), 3),
        # US daylight saving began on 8 March 2026, Europe's only on 29 March: New York + 7.
        (datetime(2026, 3, 20, 12, 0, tzinfo=UTC), 3),
        (datetime(2026, 11, 2, 12, 0, tzinfo=UTC), 2),
    ],
)
def test_server_time_is_the_broker_clock_not_utc(
    api: httpx.Client, clock: ManualClock, when: datetime, hours: int
):
    clock.set(when)
    handshake(api)  # the jump outlived the session
    reply = call(api, "/api/time/server")
    assert int(reply["answer"]["Time"]) - int(when.timestamp()) == hours * 3600
    assert int(reply["answer"]["TimeMsc"]) // 1000 == int(reply["answer"]["Time"])


def test_every_scalar_is_a_string(api: httpx.Client, sim: Simulator):
    login = sim.traders[0]
    sim.open_position(login, "EURUSD", 0, VOLUME_EXT_PER_LOT // 10)
    replies = [
        call(api, "/api/user/get", params={"login": login}),
        call(api, "/api/user/account/get", params={"login": login}),
        call(api, "/api/deal/get_batch", params={"login": login, "from": 0, "to": 2**31}),
        call(api, "/api/position/get_batch", params={"login": login}),
        call(api, "/api/group/get", params={"group": "real\\pro"}),
        call(api, "/api/symbol/get", params={"symbol": "XAUUSD"}),
        call(api, "/api/tick/last", params={"symbol": "EURUSD,BTCUSD", "trans_id": 0}),
    ]
    for reply in replies:
        assert reply["retcode"] == "0 Done"
        assert all_strings(reply), reply


def test_user_add_allocates_a_login_from_the_range(api: httpx.Client):
    reply = add_user(api, Email="jane@example.com", FirstName="Jane", Country="Cyprus")
    assert reply["retcode"] == "0 Done"
    user = reply["answer"]
    assert 100_000 <= int(user["Login"]) <= 199_999
    assert user["Group"] == "real\\standard"
    assert user["Leverage"] == "100"
    assert user["Email"] == "jane@example.com"
    assert user["Balance"] == "0.00"
    assert int(user["Rights"]) & 1
    assert "PassMain" not in user
    again = call(api, "/api/user/get", params={"login": user["Login"]})
    assert again["answer"] == user


def test_user_add_errors(api: httpx.Client):
    assert code(add_user(api, Login="100000")) == 3004  # a simulated trader has it
    assert code(add_user(api, PassMain="short1A!")) == 0
    assert code(add_user(api, PassMain="alllowercase1")) == 3006
    assert code(add_user(api, PassInvestor="Ab#1")) == 3006
    bad_group = call(
        api,
        "/api/user/add",
        "POST",
        params={"group": "nope", "name": "X", "leverage": "100"},
        json={"PassMain": GOOD_PW, "PassInvestor": GOOD_PW},
    )
    assert code(bad_group) == 8
    assert code(add_user(api, Leverage="501")) == 3
    assert code(call(api, "/api/user/get", params={"login": "199999"})) == 13


def test_user_add_without_free_logins_is_3002(clock: ManualClock):
    sim = Simulator(clock=clock, login_range=(500, 501))
    with SimServer(sim) as srv, httpx.Client(base_url=srv.url) as c:
        handshake(c)
        assert code(add_user(c)) == 0
        assert code(add_user(c)) == 0
        assert code(add_user(c)) == 3002


def test_user_update_changes_only_the_given_fields(api: httpx.Client):
    user = add_user(api, Email="a@example.com", City="Limassol")["answer"]
    reply = call(
        api,
        "/api/user/update",
        "POST",
        params={"login": user["Login"]},
        json={"Email": "b@example.com", "Leverage": "200", "Balance": "1000000"},
    )
    assert reply["retcode"] == "0 Done"
    after = reply["answer"]
    assert after["Email"] == "b@example.com"
    assert after["Leverage"] == "200"
    assert after["City"] == "Limassol"
    assert after["Name"] == "Jane Roe"
    assert after["Balance"] == "0.00"  # read-only
    assert code(call(api, "/api/user/update", "POST", params={"login": "1"}, json={})) == 13


def test_body_wins_over_the_query(api: httpx.Client, sim: Simulator):
    login = sim.traders[0]
    reply = call(
        api,
        "/api/trade/balance",
        "POST",
        params={"login": login, "type": "2", "balance": "1.00", "comment": "q"},
        json={"balance": "25.50", "comment": "body"},
    )
    deal = sim.deal(int(reply["answer"]["Ticket"]))
    assert deal.profit == Decimal("25.50")
    assert deal.comment == "body"


def test_balance_operation_makes_a_deal_and_moves_the_balance(api: httpx.Client, sim: Simulator):
    user = add_user(api)["answer"]
    login = user["Login"]
    comment = "CRM#" + "x" * 40
    first = call(
        api,
        "/api/trade/balance",
        params={"login": login, "type": "2", "balance": "1500.25", "comment": comment},
    )
    assert first["retcode"] == "0 Done"
    second = call(api, "/api/trade/balance", params={"login": login, "type": "3", "balance": "200"})
    assert int(second["answer"]["Ticket"]) > int(first["answer"]["Ticket"])
    deal = call(api, "/api/deal/get", params={"ticket": first["answer"]["Ticket"]})["answer"]
    assert deal["Action"] == "2"
    assert deal["Entry"] == "0"
    assert deal["Symbol"] == ""
    assert deal["Volume"] == "0" and deal["VolumeExt"] == "0"
    assert deal["Profit"] == "1500.25"
    assert deal["Comment"] == comment[:31]
    assert deal["Login"] == login
    assert int(deal["Time"]) == utc_datetime_to_server(datetime.fromtimestamp(sim.clock.now(), UTC))
    state = call(api, "/api/user/account/get", params={"login": login})["answer"]
    assert state["Balance"] == "1500.25"
    assert state["Credit"] == "200.00"
    assert state["Equity"] == "1700.25"
    assert state["MarginFree"] == "1700.25"


def test_balance_operation_errors(api: httpx.Client):
    login = add_user(api)["answer"]["Login"]

    def op(type_: str, amount: str, **extra: str) -> int:
        params = {"login": login, "type": type_, "balance": amount, **extra}
        return code(call(api, "/api/trade/balance", params=params))

    assert op("2", "100") == 0
    assert op("2", "-100.01") == 10019
    assert op("3", "-1") == 10019  # no credit issued
    assert op("2", "1000000000.01") == 4005
    assert op("7", "10") == 3
    assert op("2", "abc") == 3
    assert (
        code(call(api, "/api/trade/balance", params={"login": "1", "type": "2", "balance": "1"}))
        == 13
    )
    assert op("2", "-100") == 0
    assert op("2", "-5", check_margin="0") == 0  # the dealer may push it negative


def test_withdrawal_over_free_margin_is_refused(api: httpx.Client, sim: Simulator):
    login = sim.traders[0]
    sim.open_position(login, "XAUUSD", 0, VOLUME_EXT_PER_LOT)  # ~2650 USD margin at 1:100
    state = call(api, "/api/user/account/get", params={"login": login})["answer"]
    free = Decimal(state["MarginFree"])
    assert Decimal(state["Margin"]) > 0
    too_much = {"login": login, "type": "2", "balance": str(-(free + 1))}
    assert code(call(api, "/api/trade/balance", params=too_much)) == 10019


def test_equity_is_balance_plus_credit_plus_floating(api: httpx.Client, sim: Simulator):
    login = sim.traders[0]
    sim.balance_op(login, 3, "500")
    pos = sim.open_position(login, "EURUSD", 0, VOLUME_EXT_PER_LOT)
    sim.symbols["EURUSD"].bid_points += 250  # +25 pips
    state = call(api, "/api/user/account/get", params={"login": login})["answer"]
    floating = Decimal(state["Floating"])
    assert floating == Decimal(state["Profit"]) + Decimal(state["Storage"])
    assert Decimal(state["Equity"]) == (
        Decimal(state["Balance"]) + Decimal(state["Credit"]) + floating
    )
    # bought at ask (bid + 12 pt spread), now bid is 250 points higher: 238 points * 1 USD
    assert floating == Decimal("238.00")
    margin = Decimal(state["Margin"])
    assert margin == (Decimal(100000) * sim.symbols["EURUSD"].bid / 100).quantize(Decimal("0.01"))
    assert Decimal(state["MarginFree"]) == Decimal(state["Equity"]) - margin
    assert Decimal(state["MarginLevel"]) == (Decimal(state["Equity"]) / margin * 100).quantize(
        Decimal("0.01")
    )
    positions = call(api, "/api/position/get_batch", params={"login": login})["answer"]
    assert [p["Position"] for p in positions] == [str(pos.position)]
    assert positions[0]["Profit"] == "238.00"
    batch = call(api, "/api/user/account/get_batch", params={"login": f"{login},{sim.traders[1]}"})[
        "answer"
    ]
    assert [a["Login"] for a in batch] == [str(login), str(sim.traders[1])]


def test_closed_trade_deals_carry_profit_commission_and_position(sim: Simulator, api: httpx.Client):
    login = sim.traders[0]
    before = sim.users[login].balance
    pos = sim.open_position(login, "USDJPY", 1, VOLUME_EXT_PER_LOT // 2)  # sell 0.5 lot
    sim.symbols["USDJPY"].bid_points -= 1000  # 1 yen lower
    out = sim.close_position(pos.position)
    deals = call(api, "/api/deal/get_batch", params={"ticket": f"{pos.position},{out.deal}"})
    wire = {d["Entry"]: d for d in deals["answer"]}
    assert set(wire) == {"1"}  # position id is an order ticket, not a deal ticket
    deal_in = call(
        api,
        "/api/deal/get_batch",
        params={"login": login, "from": 0, "to": 2**31, "symbol": "USDJPY"},
    )["answer"]
    assert [d["Entry"] for d in deal_in] == ["0", "1"]
    d_in, d_out = deal_in
    assert d_in["Action"] == "1" and d_out["Action"] == "0"
    assert d_in["PositionID"] == d_out["PositionID"] == str(pos.position)
    assert d_in["Volume"] == "5000" and d_in["VolumeExt"] == "50000000"
    assert d_out["VolumeClosed"] == "5000"
    assert d_in["Commission"] == "-1.75" and d_out["Commission"] == "-1.75"
    assert d_out["Digits"] == "3" and d_out["ContractSize"] == "100000"
    # (open - close) * 50 000 JPY, converted at the close price
    expected = ((pos.price_open - out.price) * 50000 / out.price).quantize(Decimal("0.01"))
    assert Decimal(d_out["Profit"]) == expected > 0
    total = sum(Decimal(d[k]) for d in deal_in for k in ("Profit", "Storage", "Commission"))
    assert sim.users[login].balance == before + total
    for field in ("Deal", "Order", "Reason", "TimeMsc", "Price", "Fee", "Comment", "ExternalID"):
        assert field in d_out


def test_deal_selectors(api: httpx.Client, sim: Simulator, clock: ManualClock):
    t0 = sim.server_time()
    a, b = sim.traders
    pro = add_user(api)["answer"]["Login"]
    call(api, "/api/user/update", "POST", params={"login": pro}, json={"Group": "real\\pro"})
    sim.balance_op(int(pro), 2, "10")
    clock.advance(3600)
    later = sim.balance_op(a, 2, "1")
    handshake(api)

    def tickets(**params: Any) -> list[int]:
        reply = call(api, "/api/deal/get_batch", params=params)
        assert reply["retcode"] == "0 Done", reply
        return [int(d["Deal"]) for d in reply["answer"]]

    everything = tickets(group="*", **{"from": 0, "to": 2**31})
    assert everything == sorted(everything) and len(everything) == 4
    assert tickets(login=f"{a},{b}", **{"from": 0, "to": 2**31}) == [
        d for d in everything if sim.deals[d].login in (a, b)
    ]
    std = tickets(group="real*,!real\\pro", **{"from": 0, "to": 2**31})
    assert all(sim.deals[t].login != int(pro) for t in std) and len(std) == 3
    # from/to are server time: the last hour, in UTC, would miss the deal.
    assert tickets(login=a, **{"from": t0 + 3500, "to": t0 + 3700}) == [later.deal]
    utc_now = int(clock.now())
    assert tickets(login=a, **{"from": utc_now - 100, "to": utc_now + 100}) == []
    assert tickets(ticket=f"{later.deal},999") == [later.deal]
    assert code(call(api, "/api/deal/get_batch", params={"login": a})) == 3
    assert code(call(api, "/api/deal/get", params={"ticket": 42})) == 13
    total = call(api, "/api/deal/get_total", params={"group": "*", "from": 0, "to": 2**31})
    assert total["answer"] == {"total": "4"}


def test_deal_pages_hold_at_most_100(api: httpx.Client, sim: Simulator):
    sim.generate_deals(250, sim.traders, 0, sim.server_time())
    window = {"login": ",".join(map(str, sim.traders)), "from": 0, "to": 2**31}
    total = int(call(api, "/api/deal/get_total", params=window)["answer"]["total"])
    assert total == 252  # and the two initial deposits
    seen: list[str] = []
    offset = 0
    while True:
        page = call(api, "/api/deal/get_page", params={**window, "offset": offset, "total": 500})[
            "answer"
        ]
        assert len(page) <= 100
        if not page:
            break
        seen += [d["Deal"] for d in page]
        offset += len(page)
    assert len(seen) == len(set(seen)) == total


def test_groups_symbols_and_ticks(api: httpx.Client, sim: Simulator):
    group = call(api, "/api/group/get", params={"group": "real\\pro"})["answer"]
    assert group["Currency"] == "USD" and group["DefaultLeverage"] == "500"
    demo = call(api, "/api/group/get", params={"mask": "demo*"})["answer"]
    assert [g["Group"] for g in demo] == ["demo\\standard"]
    assert code(call(api, "/api/group/get", params={"group": "x"})) == 13
    sym = call(api, "/api/symbol/get", params={"symbol": "EURUSD"})["answer"]
    assert (sym["Digits"], sym["ContractSize"]) == ("5", "100000")
    assert (sym["VolumeMin"], sym["VolumeStep"], sym["VolumeMinExt"]) == ("100", "100", "1000000")
    names = [s["Symbol"] for s in call(api, "/api/symbol/get", params={"mask": "*"})["answer"]]
    assert names == ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US30", "BTCUSD"]
    first = call(api, "/api/tick/last", params={"symbol": "EURUSD,XAUUSD", "trans_id": 0})
    assert [t["Symbol"] for t in first["answer"]] == ["EURUSD", "XAUUSD"]
    tick = first["answer"][0]
    assert Decimal(tick["Ask"]) > Decimal(tick["Bid"])
    assert len(tick["Bid"].split(".")[1]) == 5
    sim.tick()
    after = call(api, "/api/tick/last", params={"symbol": "EURUSD", "trans_id": first["trans_id"]})
    assert int(after["trans_id"]) > int(first["trans_id"]) and len(after["answer"]) == 1
    same = call(api, "/api/tick/last", params={"symbol": "EURUSD", "trans_id": after["trans_id"]})
    assert same["answer"] == []
