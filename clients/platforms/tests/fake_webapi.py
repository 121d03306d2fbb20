"""An in-process MT5 Manager Web API for the client's tests, served through httpx.MockTransport.

It speaks the real wire format: string scalars, payloads under ``answer``, PascalCase
names, ``"<code> <text>"`` retcodes, the challenge-response handshake with a real
``cli_rand_answer``, a cookie-bound session and HTTP 403 without one. Times are on a
broker clock (New York + 7 h), so a UTC mix-up shows. Faults are queued per path.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from clients.platforms.clock import ServerClock
from clients.platforms.webapi import password_hash, rand_answer

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Manager#1"  # noqa: S105 - test fixture
URL = "https://mt5.test"
CLOCK = ServerClock("America/New_York", 7)


def ok(**payload: Any) -> dict[str, Any]:
    return {"retcode": "0 Done", **payload}


def s(value: Any) -> str:
    return str(value)


@dataclass
class FakeWebApi:
    password: str = MANAGER_PASSWORD
    bad_proof: bool = False  # answer cli_rand with garbage: an impostor server
    users: dict[int, dict[str, str]] = field(default_factory=dict)
    deals: list[dict[str, str]] = field(default_factory=list)
    positions: list[dict[str, str]] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[httpx.Request] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    pending: dict[str, bytes] = field(default_factory=dict)
    next_ticket: int = 500_000
    next_login: int = 954_400
    now_server: int = 0

    def __post_init__(self) -> None:
        if not self.now_server:
            self.now_server = CLOCK.from_utc(datetime.now(UTC))

    # -- helpers for tests

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fault(self, path: str, *actions: str) -> None:
        self.faults.setdefault(path, []).extend(actions)

    def add_user(self, login: int, balance: str = "0.00", **fields: str) -> None:
        self.users[login] = {
            "Login": s(login),
            "Group": "demo\\usd",
            "Leverage": "100",
            "Name": "Jane Doe",
            "FirstName": "Jane",
            "LastName": "Doe",
            "Email": "jane@example.com",
            "Rights": "2403",
            "Balance": balance,
            "Credit": "0.00",
            "Country": "Cyprus",
            "Phone": "",
            "Comment": "",
            "Registration": "1700000000",
            **fields,
        }

    def add_deal(self, login: int, server_time: int, **fields: str) -> dict[str, str]:
        self.next_ticket += 1
        deal = {
            "Deal": s(self.next_ticket),
            "Login": s(login),
            "Order": "0",
            "PositionID": "0",
            "Action": "2",
            "Entry": "0",
            "Reason": "0",
            "Time": s(server_time),
            "TimeMsc": s(server_time * 1000),
            "Symbol": "",
            "Price": "0.00000",
            "Volume": "0",
            "VolumeExt": "0",
            "Profit": "0.00",
            "Storage": "0.00",
            "Commission": "0.00",
            "Comment": "",
            "ExternalID": "",
            "ExpertID": "0",
            **fields,
        }
        self.deals.append(deal)
        return deal

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    # -- the server

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        self.hits[path] += 1
        params = dict(request.url.params)
        if request.content:
            params.update(json.loads(request.content))
        fault = self.faults.get(path, []).pop(0) if self.faults.get(path) else None
        if fault == "timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if fault == "drop":
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        if fault == "403":
            self.sessions.clear()
            return httpx.Response(403, text="")
        if fault == "http502":
            return httpx.Response(502, text="Bad Gateway")
        if fault == "garbage":
            return httpx.Response(200, text="<html>Bad Gateway</html>")
        if fault and fault[0].isdigit():
            return httpx.Response(200, json={"retcode": fault})

        if path == "/api/auth/start":
            if params.get("type") != "manager" or int(params["login"]) != MANAGER_LOGIN:
                return httpx.Response(200, json={"retcode": "1002 Invalid account"})
            srv_rand = secrets.token_bytes(16)
            sid = secrets.token_hex(8)
            self.pending[sid] = srv_rand
            response = httpx.Response(200, json=ok(version_access="1290", srv_rand=srv_rand.hex()))
            response.headers["Set-Cookie"] = f"sid={sid}; Path=/"
            return response
        sid = request.headers.get("cookie", "").removeprefix("sid=")
        if path == "/api/auth/answer":
            srv_rand = self.pending.pop(sid, None)
            pw = password_hash(self.password)
            if srv_rand is None or params["srv_rand_answer"] != rand_answer(pw, srv_rand):
                return httpx.Response(200, json={"retcode": "1001 Invalid password"})
            proof = rand_answer(pw, bytes.fromhex(params["cli_rand"]))
            if self.bad_proof:
                proof = "0" * 32
            self.sessions.add(sid)
            return httpx.Response(
                200, json=ok(version_access="1290", version_trade="0", cli_rand_answer=proof)
            )
        if sid not in self.sessions:
            return httpx.Response(403, text="")
        if fault == "commit_then_timeout":
            self.route(path, params)
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(200, json=self.route(path, params))

    def route(self, path: str, p: dict[str, str]) -> dict[str, Any]:
        if path == "/api/test/access":
            return ok()
        if path == "/api/quit":
            return ok()
        if path == "/api/time/server":
            return ok(answer={"Time": s(self.now_server)})
        if path == "/api/user/get":
            user = self.users.get(int(p["login"]))
            return ok(answer=user) if user else {"retcode": "13 Not found"}
        if path == "/api/user/add":
            login = int(p.get("login") or 0) or self.next_login
            if login in self.users:
                return {"retcode": "3004 User exists"}
            self.next_login = max(self.next_login, login) + 1
            self.add_user(login, Group=p["group"], Name=p["name"], Leverage=p["leverage"])
            self.users[login].update(
                {k: v for k, v in p.items() if k in ("Email", "FirstName", "LastName", "Country")}
            )
            return ok(answer=self.users[login])
        if path == "/api/user/update":
            user = self.users.get(int(p["login"]))
            if user is None:
                return {"retcode": "13 Not found"}
            for key, value in p.items():
                if key in user and key not in ("Login", "Balance", "Credit"):
                    user[key] = value
            return ok(answer=user)
        if path == "/api/user/account/get":
            user = self.users.get(int(p["login"]))
            if user is None:
                return {"retcode": "13 Not found"}
            return ok(
                answer={
                    "Login": user["Login"],
                    "CurrencyDigits": "2",
                    "Balance": user["Balance"],
                    "Credit": user["Credit"],
                    "Margin": "0.00",
                    "MarginFree": user["Balance"],
                    "MarginLevel": "0.00",
                    "Profit": "0.00",
                    "Equity": user["Balance"],
                }
            )
        if path == "/api/trade/balance":
            user = self.users.get(int(p["login"]))
            if user is None:
                return {"retcode": "13 Not found"}
            amount = Decimal(p["balance"])
            new_balance = Decimal(user["Balance"]) + amount
            if new_balance < 0 and p.get("check_margin", "1") == "1":
                return {"retcode": "10019 No money"}
            user["Balance"] = f"{new_balance:.2f}"
            deal = self.add_deal(
                int(p["login"]),
                self.now_server,
                Action=p["type"],
                Profit=f"{amount:.2f}",
                Comment=p.get("comment", "")[:31],
            )
            return ok(answer={"Ticket": deal["Deal"]})
        if path == "/api/deal/get_batch":
            lo, hi = int(p["from"]), int(p["to"])
            logins = {int(x) for x in p["login"].split(",")} if "login" in p else None
            rows = [
                d
                for d in self.deals
                if lo <= int(d["Time"]) <= hi and (logins is None or int(d["Login"]) in logins)
            ]
            return ok(answer=rows)
        if path == "/api/position/get_batch":
            logins = {int(x) for x in p["login"].split(",")} if "login" in p else None
            rows = [r for r in self.positions if logins is None or int(r["Login"]) in logins]
            return ok(answer=rows)
        if path == "/api/tick/last":
            rows = [
                {
                    "Symbol": sym,
                    "Digits": "5",
                    "Bid": "1.08512",
                    "Ask": "1.08527",
                    "Last": "0.00000",
                    "Datetime": s(self.now_server),
                    "DatetimeMsc": s(self.now_server * 1000 + 250),
                }
                for sym in p["symbol"].split(",")
                if sym in ("EURUSD", "GBPUSD")
            ]
            return ok(trans_id="7", answer=rows)
        if path == "/api/group/get":
            if p["group"] != "demo\\usd":
                return {"retcode": "13 Not found"}
            return ok(
                answer={
                    "Group": "demo\\usd",
                    "Server": "1",
                    "Currency": "USD",
                    "CurrencyDigits": "2",
                    "MarginCall": "100.00",
                    "MarginStopOut": "50.00",
                }
            )
        if path == "/api/symbol/get":
            return ok(
                answer={
                    "Symbol": p["symbol"],
                    "Path": "Forex\\Majors\\" + p["symbol"],
                    "Description": "Euro vs US Dollar",
                    "Digits": "5",
                    "ContractSize": "100000.00",
                    "VolumeMin": "100",
                    "VolumeMax": "1000000",
                    "VolumeStep": "100",
                    "VolumeMinExt": "1000000",
                }
            )
        return {"retcode": "3 Invalid parameters"}
