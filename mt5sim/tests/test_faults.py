from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from mt5sim import SimServer, Simulator

from .conftest import call, code, handshake


def admin(server: SimServer, path: str, body: dict | None = None) -> dict:
    r = httpx.post(server.url + path, json=body or {})
    assert r.status_code == 200, r.text
    return r.json()


def test_latency_slows_every_call(api: httpx.Client, server: SimServer):
    admin(server, "/__sim__/faults", {"latency_ms": 1500})
    t = time.monotonic()
    assert call(api, "/api/test/access")["retcode"] == "0 Done"
    assert time.monotonic() - t >= 1.5
    admin(server, "/__sim__/faults", {"reset": True})
    t = time.monotonic()
    call(api, "/api/test/access")
    # Well under the injected delay however busy the machine is (a lower bound is exact).
    assert time.monotonic() - t < 1.5


def test_dropping_sessions_makes_the_next_call_403(api: httpx.Client, server: SimServer):
    assert admin(server, "/__sim__/faults", {"drop_sessions": True})["dropped"] == 1
    assert api.get("/api/test/access").status_code == 403
    handshake(api)
    assert api.get("/api/test/access").status_code == 200


def test_balance_timeout_applies_the_deal_but_never_answers(
    api: httpx.Client, server: SimServer, sim: Simulator
):
    login = sim.traders[0]
    before = sim.users[login].balance
    server.faults.balance_timeouts = 1
    server.faults.balance_timeout_delay_ms = 300
    with pytest.raises(httpx.TransportError):
        api.get(
            "/api/trade/balance",
            params={"login": login, "type": 2, "balance": "50", "comment": "CRM#abc123"},
            timeout=2,
        )
    assert sim.users[login].balance == before + 50
    # The client's recovery: look for the comment in that login's deals.
    with httpx.Client(base_url=server.url, timeout=5) as fresh:
        handshake(fresh)
        deals = call(fresh, "/api/deal/get_batch", params={"login": login, "from": 0, "to": 2**31})[
            "answer"
        ]
        assert [d["Comment"] for d in deals if d["Action"] == "2"][-1] == "CRM#abc123"
        # Only one call was affected.
        again = call(fresh, "/api/trade/balance", params={"login": login, "type": 2, "balance": 1})
        assert again["retcode"] == "0 Done"


def test_balance_timeout_hits_the_client_read_timeout(api: httpx.Client, server: SimServer):
    admin(server, "/__sim__/faults", {"balance_timeout": {"count": 1, "delay_ms": 1500}})
    with pytest.raises(httpx.ReadTimeout):
        api.get(
            "/api/trade/balance",
            params={"login": server.sim.traders[0], "type": 2, "balance": "5"},
            timeout=0.3,
        )


@pytest.mark.parametrize("retcode", [9, 12, 13])
def test_forced_retcodes_for_the_next_calls_to_a_path(
    api: httpx.Client, server: SimServer, sim: Simulator, retcode: int
):
    rule = {"path": "/api/user/get", "retcode": retcode, "count": 2}
    described = admin(server, "/__sim__/faults", {"retcodes": [rule]})
    assert described["retcodes"] == [rule]
    params = {"login": sim.traders[0]}
    assert code(call(api, "/api/user/get", params=params)) == retcode
    assert code(call(api, "/api/test/access")) == 0  # other paths are untouched
    assert code(call(api, "/api/user/get", params=params)) == retcode
    assert code(call(api, "/api/user/get", params=params)) == 0


def test_forced_retcode_does_not_execute_the_call(
    api: httpx.Client, server: SimServer, sim: Simulator
):
    admin(server, "/__sim__/faults", {"retcodes": [{"path": "/api/trade/balance", "retcode": 9}]})
    n = len(sim.deals)
    reply = call(
        api, "/api/trade/balance", params={"login": sim.traders[0], "type": 2, "balance": 1}
    )
    assert reply["retcode"] == "9 Timeout"
    assert len(sim.deals) == n


def test_dealer_edits_cancels_and_deletes_past_deals(
    api: httpx.Client, server: SimServer, sim: Simulator
):
    login = sim.traders[0]
    pos = sim.open_position(login, "EURUSD", 0, 10_000_000)
    sim.symbols["EURUSD"].bid_points += 100
    out = sim.close_position(pos.position)
    balance, old_profit = sim.users[login].balance, out.profit
    assert out.action == 1  # closing a buy is a sell

    edited = admin(
        server,
        "/__sim__/deal",
        {"ticket": out.deal, "op": "edit", "Profit": "12.34", "Price": "1.2"},
    )["deal"]
    assert edited["Profit"] == "12.34" and edited["Price"] == "1.20000"
    got = call(api, "/api/deal/get", params={"ticket": out.deal})["answer"]
    assert got["Profit"] == "12.34"
    assert sim.users[login].balance == balance - old_profit + Decimal("12.34")

    canceled = admin(server, "/__sim__/deal", {"ticket": out.deal, "op": "cancel"})["deal"]
    assert canceled["Action"] == "14"  # sell canceled; its result is taken back
    assert call(api, "/api/deal/get", params={"ticket": out.deal})["answer"]["Action"] == "14"
    assert sim.users[login].balance == balance - old_profit - out.storage - out.commission
    entry_in = call(api, "/api/deal/get_batch", params={"ticket": out.deal - 1})["answer"][0]
    assert entry_in["Action"] == "0"
    cancel_in = admin(server, "/__sim__/deal", {"ticket": out.deal - 1, "op": "cancel"})
    assert cancel_in["deal"]["Action"] == "13"

    admin(server, "/__sim__/deal", {"ticket": out.deal, "op": "delete"})
    assert code(call(api, "/api/deal/get", params={"ticket": out.deal})) == 13
    r = httpx.post(server.url + "/__sim__/deal", json={"ticket": out.deal, "op": "delete"})
    assert r.status_code == 404


def test_admin_endpoints_answer_loopback_peers_only():
    from mt5sim.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("10.0.0.5") and not is_loopback("not-an-ip")


def test_admin_market_clock_and_history(server: SimServer, sim: Simulator, api: httpx.Client):
    trans = int(admin(server, "/__sim__/tick", {"count": 3})["trans_id"])
    assert trans == 3 * len(sim.symbols)
    made = admin(server, "/__sim__/generate_deals", {"count": 10, "from": 0, "to": 2_000_000_000})
    assert made["count"] == 10
    state = httpx.get(server.url + "/__sim__/state").json()
    assert state["deals"] >= 12 and state["sessions"] == 1 and state["managers"] == ["1000"]
    server_time = sim.server_time()
    moved = admin(server, "/__sim__/clock", {"advance": 200})
    assert moved["server"] == server_time + 200
    assert api.get("/api/test/access").status_code == 403  # idle for 200 s
    assert httpx.post(server.url + "/__sim__/nope", json={}).status_code == 404


def test_the_package_does_not_import_django():
    import subprocess
    import sys

    code_ = "import sys, mt5sim, mt5sim.__main__; print(any(m.startswith('django') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
