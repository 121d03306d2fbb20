"""The HTTP face of the simulator: MT5 Manager Web API wire format on the stdlib server.

Why the stdlib: ThreadingHTTPServer speaks HTTP/1.1 keep-alive, needs no dependency, and
gives one handler object per TCP connection, which is exactly what MT5 binds a session to.
A session is found by our cookie (`MT5SIM_SID`, set on /api/auth/start) or, failing that,
by the connection it was opened on; so a client with a cookie jar and a client that only
keeps its connection both work, and one that does neither gets HTTP 403.

Admin and fault-injection endpoints live under `/__sim__/` and answer loopback peers only;
see `docs/mt5sim.md` (and `Faults`) for the switches.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import auth
from .clock import ManualClock, server_offset_minutes
from .core import PAGE_LIMIT, SimError, Simulator, invalid, parse_int, parse_int_list
from .model import USER_TEXT_FIELDS, money

log = logging.getLogger("mt5sim")

COOKIE = "MT5SIM_SID"
AUTH_WINDOW_S = 10.0
IDLE_TIMEOUT_S = 180.0
VERSION_ACCESS = "1290"
VERSION_TRADE = "4755"
# Auth failure retcodes (MTRetCode 1000-1010); the exact value a real server sends for a
# wrong answer is UNVERIFIED, so it is configurable on the server.
RET_AUTH_FAILED = "1001 Authorization failed"
RET_AUTH_TIMEOUT = "1001 Authorization timeout"
RET_TEXT = {0: "Done", 2: "Common error", 3: "Invalid parameters", 9: "Timeout",
            10: "No connection", 12: "Too frequent", 13: "Not found"}  # fmt: skip


@dataclass
class Session:
    sid: str
    login: int
    srv_rand: str
    started: float
    last_seen: float
    authenticated: bool = False


@dataclass
class Faults:
    """Switches for testing clients; change through `SimServer.faults` or POST /__sim__/faults.

    - latency_ms: every /api/ call waits this long before it is handled.
    - balance_timeouts / balance_timeout_delay_ms: the next N /api/trade/balance calls are
      applied (the deal exists), then the reply is withheld for the delay and the connection
      is closed without an answer: the client cannot know the outcome.
    - forced: path -> [retcode, remaining]; the next N calls to that path get the retcode
      (e.g. 9 Timeout, 12 Too frequent, 13 Not found) and are not executed.
    Dropping all sessions and dealer edits are actions, not switches (see SimServer).
    """

    latency_ms: int = 0
    balance_timeouts: int = 0
    balance_timeout_delay_ms: int = 2000
    forced: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take_forced(self, path: str) -> int | None:
        with self.lock:
            entry = self.forced.get(path)
            if not entry:
                return None
            code, left = entry
            if left <= 1:
                del self.forced[path]
            else:
                entry[1] = left - 1
            return code

    def take_balance_timeout(self) -> int | None:
        with self.lock:
            if self.balance_timeouts <= 0:
                return None
            self.balance_timeouts -= 1
            return self.balance_timeout_delay_ms

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "latency_ms": self.latency_ms,
                "balance_timeout": {
                    "count": self.balance_timeouts,
                    "delay_ms": self.balance_timeout_delay_ms,
                },
                "retcodes": [
                    {"path": p, "retcode": c, "count": n} for p, (c, n) in self.forced.items()
                ],
            }

    def reset(self) -> None:
        with self.lock:
            self.latency_ms = 0
            self.balance_timeouts = 0
            self.forced.clear()


class _Abort(Exception):
    """Close the connection without a reply (the balance-timeout fault)."""


def _ok(**extra: Any) -> dict[str, Any]:
    return {"retcode": "0 Done", **extra}


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() not in ("0", "false", "no")


def _account_wire(state: dict[str, Any], digits: int) -> dict[str, str]:
    out = {"Login": str(state["Login"]), "CurrencyDigits": str(digits)}
    for name in ("Balance", "Credit", "Margin", "MarginFree", "MarginLevel"):
        out[name] = money(state[name], digits)
    out["MarginLeverage"] = str(state["MarginLeverage"])
    for name in ("Profit", "Storage", "Floating", "Equity"):
        out[name] = money(state[name], digits)
    zero = money(Decimal(0), digits)
    out.update(
        MarginInitial=zero,
        MarginMaintenance=zero,
        SOActivation="0",
        SOTime="0",
        SOLevel=zero,
        SOEquity=zero,
        SOMargin=zero,
        Assets=zero,
        Liabilities=zero,
        BlockedCommission=zero,
        BlockedProfit=zero,
    )
    return out


_USER_KEYS = {k.lower(): k for k in [*USER_TEXT_FIELDS, "Group", "Leverage", "Rights", "Agent",
                                     "PassMain", "PassInvestor", "Login"]}  # fmt: skip


def _user_fields(params: dict[str, Any]) -> dict[str, Any]:
    """Accept `name=` in the query and `Name` in the body alike."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        wire = _USER_KEYS.get(k.lower())
        if wire is not None:
            out[wire] = v
    return out


class Api:
    """Routes /api/... paths to the simulator; returns the JSON reply (a dict)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.routes = {
            "/api/test/access": lambda p: _ok(),
            "/api/time/server": self.time_server,
            "/api/user/add": self.user_add,
            "/api/user/get": self.user_get,
            "/api/user/get_batch": self.user_get_batch,
            "/api/user/logins": self.user_logins,
            "/api/user/update": self.user_update,
            "/api/user/account/get": self.account_get,
            "/api/user/account/get_batch": self.account_get_batch,
            "/api/trade/balance": self.trade_balance,
            "/api/deal/get": self.deal_get,
            "/api/deal/get_batch": self.deal_get_batch,
            "/api/deal/get_total": self.deal_get_total,
            "/api/deal/get_page": self.deal_get_page,
            "/api/position/get_batch": self.position_get_batch,
            "/api/group/get": self.group_get,
            "/api/symbol/get": self.symbol_get,
            "/api/tick/last": self.tick_last,
        }

    def time_server(self, p: dict[str, Any]) -> dict[str, Any]:
        utc = self.sim.clock.now()
        msc = self.sim.server_msc()
        return _ok(
            answer={
                "Time": str(msc // 1000),
                "TimeMsc": str(msc),
                "TimeZone": str(server_offset_minutes(utc)),
            }
        )

    def _login(self, p: dict[str, Any]) -> int:
        raw = p.get("login", p.get("Login"))
        if raw in (None, ""):
            raise invalid("login")
        return parse_int(raw, "login")

    def _user_wire(self, login: int) -> dict[str, Any]:
        user = self.sim.user(login)
        return user.wire(self.sim.groups[user.group].currency_digits)

    def user_add(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.sim.user_add(_user_fields(p))
        return _ok(answer=self._user_wire(user.login))

    def user_get(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.sim.lock:
            return _ok(answer=self._user_wire(self._login(p)))

    def _logins(self, p: dict[str, Any]) -> list[int]:
        if p.get("group"):
            return sorted(self.sim.logins_in_groups(str(p["group"])))
        return parse_int_list(p.get("login", ""), "login or group")

    def user_get_batch(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.sim.lock:
            logins = [x for x in self._logins(p) if x in self.sim.users]
            return _ok(answer=[self._user_wire(x) for x in logins])

    def user_logins(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.sim.lock:
            return _ok(answer=[str(x) for x in self.sim.logins_in_groups(str(p.get("group", "*")))])

    def user_update(self, p: dict[str, Any]) -> dict[str, Any]:
        login = self._login(p)
        fields = _user_fields(p)
        fields.pop("Login", None)
        for pw in ("PassMain", "PassInvestor"):  # passwords change through their own call
            fields.pop(pw, None)
        with self.sim.lock:
            self.sim.user_update(login, fields)
            return _ok(answer=self._user_wire(login))

    def _account(self, login: int) -> dict[str, str]:
        user = self.sim.user(login)
        return _account_wire(self.sim.account(login), self.sim.groups[user.group].currency_digits)

    def account_get(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.sim.lock:
            return _ok(answer=self._account(self._login(p)))

    def account_get_batch(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.sim.lock:
            logins = [x for x in self._logins(p) if x in self.sim.users]
            return _ok(answer=[self._account(x) for x in logins])

    def trade_balance(self, p: dict[str, Any]) -> dict[str, Any]:
        login = self._login(p)
        type_ = parse_int(p.get("type", ""), "type")
        amount = p.get("balance")
        if amount in (None, ""):
            raise invalid("balance")
        deal = self.sim.balance_op(
            login,
            type_,
            str(amount),
            str(p.get("comment", "")),
            check_margin=_flag(p.get("check_margin"), True),
        )
        return _ok(answer={"Ticket": str(deal.deal)})

    def _deal_selection(self, p: dict[str, Any]) -> dict[str, Any]:
        sel: dict[str, Any] = {"symbol": p.get("symbol") or None}
        given = [k for k in ("login", "group", "ticket") if p.get(k) not in (None, "")]
        if len(given) != 1:
            raise invalid("exactly one of login, group, ticket")
        if given == ["ticket"]:
            sel["tickets"] = parse_int_list(p["ticket"], "ticket")
            return sel
        if p.get("from") in (None, "") or p.get("to") in (None, ""):
            raise invalid("from and to are required")
        sel["from_"] = parse_int(p["from"], "from")
        sel["to"] = parse_int(p["to"], "to")
        if given == ["group"]:
            sel["group"] = str(p["group"])
        else:
            sel["logins"] = parse_int_list(p["login"], "login")
        return sel

    def deal_get(self, p: dict[str, Any]) -> dict[str, Any]:
        return _ok(answer=self.sim.deal(parse_int(p.get("ticket", ""), "ticket")).wire())

    def deal_get_batch(self, p: dict[str, Any]) -> dict[str, Any]:
        return _ok(answer=[d.wire() for d in self.sim.deals_select(**self._deal_selection(p))])

    def deal_get_total(self, p: dict[str, Any]) -> dict[str, Any]:
        return _ok(answer={"total": str(len(self.sim.deals_select(**self._deal_selection(p))))})

    def deal_get_page(self, p: dict[str, Any]) -> dict[str, Any]:
        offset = parse_int(p.get("offset", 0) or 0, "offset")
        total = min(parse_int(p.get("total", PAGE_LIMIT) or PAGE_LIMIT, "total"), PAGE_LIMIT)
        if offset < 0 or total < 1:
            raise invalid("offset/total")
        found = self.sim.deals_select(**self._deal_selection(p))
        return _ok(answer=[d.wire() for d in found[offset : offset + total]])

    def position_get_batch(self, p: dict[str, Any]) -> dict[str, Any]:
        sel: dict[str, Any] = {"symbol": p.get("symbol") or None}
        if p.get("ticket"):
            sel["tickets"] = parse_int_list(p["ticket"], "ticket")
        elif p.get("group"):
            sel["group"] = str(p["group"])
        elif p.get("login"):
            sel["logins"] = parse_int_list(p["login"], "login")
        else:
            raise invalid("login, group or ticket")
        with self.sim.lock:
            out = []
            for pos in self.sim.positions_select(**sel):
                price, profit = self.sim.position_profit(pos)
                out.append(pos.wire(price, profit, self.sim.symbols[pos.symbol].digits))
            return _ok(answer=out)

    def group_get(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("group"):
            return _ok(answer=self.sim.group(str(p["group"])).wire())
        if p.get("mask"):
            return _ok(answer=[g.wire() for g in self.sim.groups_matching(str(p["mask"]))])
        raise invalid("group or mask")

    def symbol_get(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("symbol"):
            return _ok(answer=self.sim.symbol(str(p["symbol"])).wire())
        if p.get("mask"):
            return _ok(answer=[s.wire() for s in self.sim.symbols_matching(str(p["mask"]))])
        raise invalid("symbol or mask")

    def tick_last(self, p: dict[str, Any]) -> dict[str, Any]:
        names = [s.strip() for s in str(p.get("symbol", "")).split(",") if s.strip()]
        if not names:
            raise invalid("symbol")
        trans_id = parse_int(p.get("trans_id", 0) or 0, "trans_id")
        with self.sim.lock:
            ticks = self.sim.ticks(names, trans_id)
            return {
                "retcode": "0 Done",
                "trans_id": str(self.sim.trans_id),
                "answer": [s.tick_wire() for s in ticks],
            }


class SimServer:
    """The simulator behind HTTP. `start()` serves in background threads; `stop()` ends it
    and saves the state file if one is configured.

        sim = Simulator(seed=1, clock=ManualClock(), traders=3)
        with SimServer(sim, port=0) as srv:
            httpx.get(srv.url + "/api/auth/start?...")
    """

    def __init__(
        self,
        sim: Simulator,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        tick_interval: float | None = None,
        save_interval: float = 60.0,
        idle_timeout: float = IDLE_TIMEOUT_S,
        auth_window: float = AUTH_WINDOW_S,
        bad_answer_retcode: str = RET_AUTH_FAILED,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.sim = sim
        self.api = Api(sim)
        self.faults = Faults()
        self.state_file = Path(state_file) if state_file else None
        self.tick_interval = tick_interval
        self.save_interval = save_interval
        self.idle_timeout = idle_timeout
        self.auth_window = auth_window
        self.bad_answer_retcode = bad_answer_retcode
        self.sessions: dict[str, Session] = {}
        self.sessions_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.httpd = _HTTPServer((host, port), _Handler, self)
        self.tls = ssl_context is not None
        if ssl_context is not None:
            # The handshake runs on the handler's first read, in its own thread, so a client
            # that connects and stalls cannot block the accept loop.
            self.httpd.socket = ssl_context.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> SimServer:
        self._spawn(lambda: self.httpd.serve_forever(poll_interval=0.05), "mt5sim-http")
        if self.tick_interval:
            self._spawn(self._ticker, "mt5sim-ticker")
        if self.state_file:
            self._spawn(self._saver, "mt5sim-saver")
        return self

    def _spawn(self, target: Any, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _ticker(self) -> None:
        assert self.tick_interval
        while not self._stop.wait(self.tick_interval):
            try:
                self.sim.tick()
            except Exception:  # a bug in a step must not stop the market
                log.exception("market tick failed")

    def _saver(self) -> None:
        while not self._stop.wait(self.save_interval):
            self.save()

    def save(self) -> None:
        if self.state_file:
            self.sim.save(self.state_file)

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self.save()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- actions
    def drop_sessions(self) -> int:
        """Forget every session now: the next call on any of them gets HTTP 403."""
        with self.sessions_lock:
            n = len(self.sessions)
            self.sessions.clear()
            return n

    def configure_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        f = self.faults
        if body.get("reset"):
            f.reset()
        with f.lock:
            if "latency_ms" in body:
                f.latency_ms = max(0, int(body["latency_ms"]))
            if "balance_timeout" in body:
                bt = body["balance_timeout"] or {}
                f.balance_timeouts = int(bt.get("count", 1))
                f.balance_timeout_delay_ms = int(bt.get("delay_ms", f.balance_timeout_delay_ms))
            for rule in body.get("retcodes", []):
                path, count = str(rule["path"]), int(rule.get("count", 1))
                if count > 0:
                    f.forced[path] = [int(rule["retcode"]), count]
                else:
                    f.forced.pop(path, None)
        out = f.describe()
        if body.get("drop_sessions"):
            out["dropped"] = self.drop_sessions()
        return out

    def admin(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        sim = self.sim
        if path == "/__sim__/faults":
            return self.configure_faults(body) if method == "POST" else self.faults.describe()
        if path == "/__sim__/sessions/drop":
            return {"dropped": self.drop_sessions()}
        if path == "/__sim__/deal":
            ticket = int(body["ticket"])
            op = body.get("op", "edit")
            if op == "delete":
                sim.dealer_delete(ticket)
                return {"deleted": str(ticket)}
            deal = sim.dealer_cancel(ticket) if op == "cancel" else sim.dealer_edit(ticket, body)
            return {"deal": deal.wire()}
        if path == "/__sim__/tick":
            for _ in range(int(body.get("count", 1))):
                sim.tick()
            return {"trans_id": str(sim.trans_id)}
        if path == "/__sim__/generate_deals":
            tickets = sim.generate_deals(
                int(body.get("count", 1000)),
                [int(x) for x in body.get("logins", [])] or None,
                int(body["from"]) if "from" in body else None,
                int(body["to"]) if "to" in body else None,
            )
            return {"count": len(tickets), "first": tickets[:1], "last": tickets[-1:]}
        if path == "/__sim__/clock":
            if not isinstance(sim.clock, ManualClock):
                raise invalid("the clock is the system clock")
            sim.clock.advance(float(body.get("advance", 0)))
            return {"utc": sim.clock.now(), "server": sim.server_time()}
        if path == "/__sim__/state":
            with sim.lock:
                return {
                    "users": len(sim.users),
                    "deals": len(sim.deals),
                    "positions": len(sim.positions),
                    "traders": sim.traders,
                    "sessions": len(self.sessions),
                    "managers": [str(m) for m in sim.managers],
                }
        raise SimError(13, "Not found")

    # ---------------------------------------------------------------- auth
    def auth_start(self, p: dict[str, Any]) -> tuple[dict[str, Any], Session | None]:
        try:
            version = int(str(p.get("version", "")))
        except ValueError:
            version = 0
        agent = str(p.get("agent", ""))
        if version < 484 or not agent or " " in agent or p.get("type") != "manager":
            return {"retcode": "3 Invalid parameters"}, None
        login = parse_int(p.get("login", ""), "login")
        now = self.sim.clock.now()
        session = Session(secrets.token_hex(16), login, secrets.token_hex(16), now, now)
        with self.sessions_lock:
            self.sessions[session.sid] = session
        reply = {
            "retcode": "0 Done",
            "version_access": VERSION_ACCESS,
            "srv_rand": session.srv_rand,
        }
        return reply, session

    def auth_answer(self, session: Session | None, p: dict[str, Any]) -> dict[str, Any]:
        now = self.sim.clock.now()
        if session is None or session.authenticated:
            return {"retcode": self.bad_answer_retcode}
        if now - session.started > self.auth_window:
            self._forget(session)
            return {"retcode": RET_AUTH_TIMEOUT}
        manager = self.sim.managers.get(session.login)
        cli_rand = str(p.get("cli_rand", ""))
        answer = str(p.get("srv_rand_answer", ""))
        try:
            cli_bytes = bytes.fromhex(cli_rand)
        except ValueError:
            cli_bytes = b""
        if manager is None or len(cli_bytes) != 16:
            self._forget(session)
            return {"retcode": self.bad_answer_retcode}
        pw_hash = auth.password_hash(manager.password)
        if not auth.answers_match(auth.rand_answer(pw_hash, session.srv_rand), answer):
            self._forget(session)
            return {"retcode": self.bad_answer_retcode}
        session.authenticated = True
        session.last_seen = now
        return {
            "retcode": "0 Done",
            "version_access": VERSION_ACCESS,
            "version_trade": VERSION_TRADE,
            "cli_rand_answer": auth.rand_answer(pw_hash, cli_rand),
        }

    def _forget(self, session: Session) -> None:
        with self.sessions_lock:
            self.sessions.pop(session.sid, None)

    def live_session(self, sid: str | None) -> Session | None:
        """The authenticated session for `sid`, touched; None if unknown or idle too long."""
        if not sid:
            return None
        now = self.sim.clock.now()
        with self.sessions_lock:
            s = self.sessions.get(sid)
            if s is None or not s.authenticated:
                return None
            if now - s.last_seen > self.idle_timeout:
                del self.sessions[sid]
                return None
            s.last_seen = now
            return s

    def pending_session(self, sid: str | None) -> Session | None:
        with self.sessions_lock:
            return self.sessions.get(sid) if sid else None


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: type, sim_server: SimServer) -> None:
        self.sim_server = sim_server
        super().__init__(addr, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the session may live on the connection
    server_version = "MT5Sim/1.0"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall
    timeout = IDLE_TIMEOUT_S  # the real server drops a connection after 180 s of silence
    server: _HTTPServer
    conn_sid: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _params(self) -> tuple[str, dict[str, Any]]:
        parts = urlsplit(self.path)
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if raw.strip():
            ctype = self.headers.get("Content-Type", "")
            body: Any = None
            if "json" in ctype or raw.lstrip()[:1] in (b"{", b"["):
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
            if body is None and "x-www-form-urlencoded" in ctype:
                body = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            if isinstance(body, dict):
                params.update(body)  # the body wins over the query
        return parts.path, params

    def _cookie_sid(self) -> str | None:
        header = self.headers.get("Cookie")
        if not header:
            return None
        jar: SimpleCookie = SimpleCookie()
        with contextlib.suppress(Exception):
            jar.load(header)
        morsel = jar.get(COOKIE)
        return morsel.value if morsel else None

    def _send(self, status: int, payload: Any, *, set_sid: str | None = None) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if set_sid:
            self.send_header("Set-Cookie", f"{COOKIE}={set_sid}; Path=/; HttpOnly")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        srv = self.server.sim_server
        try:
            path, params = self._params()
        except Exception:
            self._send(400, {"retcode": "3 Invalid parameters"})
            return
        if path.startswith("/__sim__/"):
            self._admin(method, path, params)
            return
        if srv.faults.latency_ms:
            time.sleep(srv.faults.latency_ms / 1000)
        sid = self._cookie_sid() or self.conn_sid
        try:
            if path == "/api/auth/start":
                reply, session = srv.auth_start(params)
                if session is not None:
                    self.conn_sid = session.sid
                self._send(200, reply, set_sid=session.sid if session else None)
                return
            if path == "/api/auth/answer":
                self._send(200, srv.auth_answer(srv.pending_session(sid), params))
                return
            session = srv.live_session(sid)
            if session is None:
                self._send(403, {"retcode": "8 No permission"})
                return
            if path == "/api/quit":
                srv._forget(session)
                self.close_connection = True
                self._send(200, {"retcode": "0 Done"})
                return
            route = srv.api.routes.get(path)
            if route is None:
                self._send(404, {"retcode": "3 Invalid parameters"})
                return
            forced = srv.faults.take_forced(path)
            if forced is not None:
                self._send(200, {"retcode": f"{forced} {RET_TEXT.get(forced, 'Error')}"})
                return
            reply = route(params)
            if path == "/api/trade/balance":
                delay = srv.faults.take_balance_timeout()
                if delay is not None:
                    time.sleep(delay / 1000)
                    raise _Abort
            self._send(200, reply)
        except SimError as e:
            self._send(200, {"retcode": e.retcode})
        except _Abort:
            self.close_connection = True
        except Exception:
            log.exception("mt5sim: %s failed", path)
            self._send(500, {"retcode": "2 Common error"})

    def _admin(self, method: str, path: str, params: dict[str, Any]) -> None:
        if not is_loopback(self.client_address[0]):
            self._send(403, {"error": "loopback only"})
            return
        try:
            self._send(200, self.server.sim_server.admin(method, path, params))
        except SimError as e:
            self._send(404 if e.code == 13 else 400, {"error": e.retcode})
        except (KeyError, ValueError, TypeError) as e:
            self._send(400, {"error": f"bad request: {e}"})
