from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from mt5sim import ManualClock, Simulator
from mt5sim.clock import server_to_utc, utc_datetime_to_server
from mt5sim.model import ACTION_CREDIT

from .conftest import START, call, handshake


def books_balance(sim: Simulator, login: int) -> Decimal:
    """Balance as the sum of the login's deals (credit deals excluded)."""
    total = Decimal(0)
    for t in sim.deals_by_login[login]:
        d = sim.deals[t]
        if d.action != ACTION_CREDIT:
            total += d.profit + d.storage + d.commission + d.fee
    return total


def test_broker_clock_round_trips():
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    server = utc_datetime_to_server(summer)
    assert server - int(summer.timestamp()) == 3 * 3600
    assert server_to_utc(server) == summer


def test_traders_trade_over_time_and_the_books_balance(clock: ManualClock):
    sim = Simulator(seed=3, clock=clock, traders=4)
    for _ in range(600):
        clock.advance(1)
        sim.tick()
    trades = [d for d in sim.deals.values() if d.symbol]
    entries = Counter(d.entry for d in trades)
    assert entries[0] > 10 and entries[1] > 5
    assert {d.login for d in trades} <= set(sim.traders)
    for login in sim.traders:
        assert sim.users[login].balance == books_balance(sim, login)
    # Deals come in ticket order with non-decreasing time.
    times = [d.time_msc for d in sim.deals.values()]
    assert times == sorted(times)


def test_same_seed_same_market(clock: ManualClock):
    a = Simulator(seed=11, clock=ManualClock(START), traders=2)
    b = Simulator(seed=11, clock=ManualClock(START), traders=2)
    for _ in range(200):
        a.tick()
        b.tick()
    assert [d.wire() for d in a.deals.values()] == [d.wire() for d in b.deals.values()]


def test_generate_200000_deals_ordered_and_paired(clock: ManualClock):
    sim = Simulator(seed=5, clock=clock, traders=3)
    logins = sim.traders + [sim.user_add({"Group": "real\\pro", "Name": "P", "Leverage": "500",
                                          "PassMain": "Abcd#1234", "PassInvestor": "Abcd#1234"}).login]  # fmt: skip
    end = START
    begin = end - timedelta(days=90)
    tickets = sim.generate_deals(200_001, logins, begin, end)
    assert len(tickets) == 200_001 and tickets == sorted(tickets)
    deals = [sim.deals[x] for x in tickets]
    lo, hi = utc_datetime_to_server(begin) * 1000, utc_datetime_to_server(end) * 1000
    assert all(lo <= d.time_msc <= hi for d in deals)
    assert [d.time_msc for d in deals] == sorted(d.time_msc for d in deals)
    by_position: dict[int, list[int]] = {}
    for d in deals:
        if d.symbol:
            by_position.setdefault(d.position_id, []).append(d.entry)
    assert all(entries == [0, 1] for entries in by_position.values())
    assert len(by_position) == 100_000
    assert sum(1 for d in deals if d.action == 2) == 1
    for login in logins:
        assert sim.users[login].balance == books_balance(sim, login)
    found = sim.deals_select(logins=[logins[0]], from_=lo // 1000, to=hi // 1000)
    assert len(found) == 1 + sum(1 for d in deals if d.login == logins[0])  # + initial deposit


def test_state_survives_a_save_and_load(tmp_path: Path, clock: ManualClock):
    sim = Simulator(seed=2, clock=clock, traders=2)
    for _ in range(300):
        sim.tick()
    sim.generate_deals(101)
    sim.balance_op(sim.traders[0], 3, "250")
    path = tmp_path / "state.json"
    sim.save(path)
    assert not [p for p in tmp_path.iterdir() if p.name != "state.json"]  # no temp file left
    again = Simulator(seed=99, clock=clock)
    again.load(path)
    assert [d.wire() for d in again.deals.values()] == [d.wire() for d in sim.deals.values()]
    assert {k: u.to_state() for k, u in again.users.items()} == {
        k: u.to_state() for k, u in sim.users.items()
    }
    assert again.positions == sim.positions
    assert again.account(sim.traders[0]) == sim.account(sim.traders[0])
    sim.tick()
    again.tick()
    assert again.next_deal == sim.next_deal
    assert [s.bid_points for s in again.symbols.values()] == [
        s.bid_points for s in sim.symbols.values()
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_command_line_serves_and_saves_on_sigterm(tmp_path: Path):
    port = _free_port()
    state = tmp_path / "sim.json"
    cmd = [sys.executable, "-m", "mt5sim", "--host", "127.0.0.1", "--port", str(port),
           "--seed", "4", "--state", str(state), "--traders", "3", "--tick", "0.05",
           "--manager-login", "2000", "--manager-password", "Secret#Pw1"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip() == f"mt5sim listening on http://127.0.0.1:{port}"
        assert "manager login 2000" in proc.stdout.readline()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
            assert handshake(c, password="Secret#Pw1", login=2000)["retcode"] == "0 Done"
            logins = call(c, "/api/user/logins", params={"group": "real*"})["answer"]
            assert len(logins) == 3
            call(c, "/api/trade/balance", params={"login": logins[0], "type": 2, "balance": "7"})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    saved = json.loads(state.read_text())
    assert len(saved["users"]) == 3
    assert any(d["Profit"] == "7.00" and d["Action"] == "2" for d in saved["deals"])
    # A restart picks the state up instead of creating new traders.
    proc = subprocess.Popen([*cmd[:-4]], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        proc.stdout.readline()
        assert ", ".join(logins) in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
