"""MT5 Manager Web API client (specs/mt5-webapi.md §1, §2, §4).

The server is stateful: a session is one authenticated keep-alive connection, so each
worker process keeps one ``_Session`` per (server, manager login) in a module-level
registry, re-created after a fork (a child must never talk on its parent's socket).

Retry policy: reads are retried once after re-authenticating when the session is lost
(HTTP 403 or a dropped connection). Writes (``user/add``, ``user/update``,
``trade/balance``) are never resent: if the connection fails after the request went out,
or the reply is a 5xx, an unreadable body or retcode 9/10 (the server gave up waiting),
the caller gets ``OutcomeUnknown`` and must look the operation up. A 403 or a failed
connect on a write raises ``Transient``: the command was not executed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from .base import (
    KNOWN_DEAL_ACTIONS,
    AccountPatch,
    AccountRecord,
    AccountState,
    AlreadyExists,
    AuthFailed,
    BalanceKind,
    BalanceOp,
    BalanceResult,
    Capability,
    Deal,
    GroupInfo,
    InsufficientFunds,
    InvalidRequest,
    NewAccount,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    PlatformError,
    Position,
    ProtocolError,
    Selector,
    ServerTime,
    SymbolInfo,
    Tick,
    Transient,
    UnknownRetcode,
    balance_comment,
    comment_has_op_ref,
    to_decimal,
    to_int,
    to_str,
)
from .clock import ServerClock

log = logging.getLogger(__name__)

CLIENT_VERSION = 484  # the lowest build the auth page accepts
IDLE_PING_SECONDS = 20.0
LOOKUP_MARGIN = timedelta(minutes=10)
DAY_SECONDS = 86_400
LOGIN_BATCH = 100

# ---------------------------------------------------------------------------
# Auth arithmetic (all on raw bytes)


def password_hash(password: str) -> bytes:
    """MD5(MD5(password as UTF-16LE) + b"WebAPI")."""
    inner = hashlib.md5(password.encode("utf-16-le"), usedforsecurity=False).digest()
    return hashlib.md5(inner + b"WebAPI", usedforsecurity=False).digest()


def rand_answer(pw_hash: bytes, rand: bytes) -> str:
    """hex(MD5(pw_hash + rand)): our answer to srv_rand, and the server's to cli_rand."""
    return hashlib.md5(pw_hash + rand, usedforsecurity=False).hexdigest()


# ---------------------------------------------------------------------------
# Replies


def parse_retcode(value: Any, raw: Any) -> int:
    text = to_str(value).strip()
    head = text.split(" ", 1)[0] if text else ""
    try:
        return int(head)
    except ValueError as exc:
        raise ProtocolError(f"bad retcode {value!r}", raw=raw) from exc


_RETCODE_ERRORS: dict[int, type[PlatformError]] = {
    3: InvalidRequest,
    4: InvalidRequest,
    8: PermissionDenied,
    9: Transient,
    10: Transient,
    12: Transient,
    13: NotFound,
    17: AlreadyExists,
    3004: AlreadyExists,
    3006: InvalidRequest,
    4005: InvalidRequest,
    10019: InsufficientFunds,
}
# On a write these say the server gave up waiting, not that it refused: the command may
# still have been executed, so the caller must look it up (12 "too frequent" is a refusal).
_WRITE_UNKNOWN = {9, 10}
# Known codes with no better class than the base one.
_KNOWN_PLAIN = {2: "common error", 3002: "no free logins", 3003: "wrong server"}


class Reply(dict[str, Any]):
    """A parsed reply; with `texts`, also the text of each object of its `answer` list exactly
    as the server sent it (what a deal's raw copy keeps, without encoding it again)."""

    answer_texts: list[str] | None = None


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """The index of the first non-space character from `at` (JSON's four kinds of space)."""
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _parse_reply(text: str, *, texts: bool) -> Any:
    if not texts:
        return json.loads(text)
    # Walk the top-level object value by value with the C scanner; the answer list element
    # by element, keeping each element's span. One pass over the text, as json.loads.
    decode = _DECODER.raw_decode
    reply = Reply()
    at = _skip(text, 0)
    if text[at : at + 1] != "{":
        return json.loads(text)  # not an object: let the caller say what is wrong
    at = _skip(text, at + 1)
    while text[at : at + 1] != "}":
        key, at = decode(text, at)
        at = _skip(text, at)
        if text[at : at + 1] != ":":
            raise ValueError(f"expected ':' at {at}")
        at = _skip(text, at + 1)
        if key == "answer" and text[at : at + 1] == "[":
            items: list[Any] = []
            spans: list[str] = []
            at = _skip(text, at + 1)
            while text[at : at + 1] != "]":
                item, end = decode(text, at)
                items.append(item)
                spans.append(text[at:end])
                at = _skip(text, end)
                if text[at : at + 1] == ",":
                    at = _skip(text, at + 1)
                elif text[at : at + 1] != "]":
                    raise ValueError(f"expected ',' or ']' at {at}")
            reply[key], reply.answer_texts = items, spans
            at += 1
        else:
            reply[key], at = decode(text, at)
        at = _skip(text, at)
        if text[at : at + 1] == ",":
            at = _skip(text, at + 1)
        elif text[at : at + 1] != "}":
            raise ValueError(f"expected ',' or '}}' at {at}")
    if text[_skip(text, at + 1) :]:
        raise ValueError("text after the reply")
    return reply


def raise_for_retcode(code: int, body: dict[str, Any], what: str) -> None:
    if code in (0, 1):
        return
    text = to_str(body.get("retcode"))
    message = f"{what}: {text}"
    if code in _RETCODE_ERRORS:
        raise _RETCODE_ERRORS[code](message, retcode=code, raw=body)
    if 1000 <= code <= 1010:
        raise AuthFailed(message, retcode=code, raw=body)
    if code in _KNOWN_PLAIN:
        raise PlatformError(message, retcode=code, raw=body)
    raise UnknownRetcode(message, retcode=code, raw=body)


class _SessionLost(Exception):
    """403 or a dropped connection: re-authenticate. Internal only."""


# ---------------------------------------------------------------------------
# Session: one authenticated connection


class _Session:
    def __init__(
        self,
        *,
        base_url: str,
        login: int,
        password: str,
        verify: bool | str,
        timeout: float,
        connect_timeout: float,
        agent: str,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.base_url = base_url
        self.login = login
        # Keep the hash, not the password: it is all the handshake needs.
        self._pw_hash = password_hash(password)
        self._verify = verify
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._agent = agent
        self._transport = transport
        self.lock = threading.RLock()
        self.authenticated = False
        self.last_used = 0.0
        self.pid = os.getpid()
        self.client = self._new_client()

    def clone(self) -> _Session:
        """A fresh, unauthenticated session with the same settings (for a forked child)."""
        twin = object.__new__(_Session)
        twin.__dict__.update(self.__dict__)
        twin.lock = threading.RLock()
        twin.authenticated = False
        twin.last_used = 0.0
        twin.pid = os.getpid()
        twin.client = twin._new_client()
        return twin

    def _new_client(self) -> httpx.Client:
        verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=self._verify)
            if isinstance(self._verify, str)
            else self._verify
        )
        return httpx.Client(
            base_url=self.base_url,
            verify=verify,
            timeout=self._timeout,
            # One connection: the server binds the session to it.
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            http1=True,
            http2=False,
            transport=self._transport,
            headers={"User-Agent": f"brokerage-crm/{self._agent}"},
        )

    def reset(self) -> None:
        """Forget the session and its connection (the server forgets it too)."""
        self.authenticated = False
        # Best effort: the connection is usually broken already.
        with contextlib.suppress(Exception):
            self.client.close()
        self.client = self._new_client()

    def send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: dict[str, Any] | None,
        *,
        write: bool,
        texts: bool = False,
    ) -> dict[str, Any]:
        """One HTTP exchange on the session's connection; returns the parsed JSON body (a
        Reply keeping its answer objects' texts, with `texts`)."""
        try:
            if method == "GET":
                response = self.client.get(path, params=params)
            else:
                response = self.client.post(
                    path,
                    params=params,
                    content=json.dumps(body or {}),
                    headers={"Content-Type": "application/json"},
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                # A configuration problem, not a passing one: say so instead of retrying.
                raise AuthFailed(
                    f"{self.base_url}: TLS certificate not trusted ({exc}); set verify to the "
                    "server's CA bundle path, or False for a self-signed test server"
                ) from exc
            # Nothing went out: safe for reads and writes alike.
            self.authenticated = False
            raise _SessionLost(f"{path}: cannot connect: {exc}") from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            self.reset()
            if write:
                raise OutcomeUnknown(
                    f"{path}: sent, but the reply was lost ({type(exc).__name__}: {exc}); "
                    "look the operation up before sending it again"
                ) from exc
            raise _SessionLost(f"{path}: connection lost: {exc}") from exc
        self.last_used = time.monotonic()
        if response.status_code == 403:
            self.authenticated = False
            raise _SessionLost(f"{path}: HTTP 403, session lost")
        text = response.text
        try:
            if response.status_code >= 500:
                raise Transient(f"{path}: HTTP {response.status_code}", raw=text)
            if response.status_code != 200:
                raise ProtocolError(f"{path}: HTTP {response.status_code}", raw=text)
            try:
                data = _parse_reply(text, texts=texts)
            except ValueError as exc:
                raise ProtocolError(f"{path}: reply is not JSON", raw=text) from exc
            if not isinstance(data, dict) or "retcode" not in data:
                raise ProtocolError(f"{path}: reply has no retcode", raw=text)
        except (Transient, ProtocolError) as exc:
            if write:
                # A 502/504 or an error page from a proxy says nothing about whether the
                # trade server applied the command.
                raise OutcomeUnknown(
                    f"{exc.message}; look the operation up before sending it again", raw=text
                ) from exc
            raise
        return data

    def authenticate(self) -> None:
        start = self.send(
            "GET",
            "/api/auth/start",
            {
                "version": CLIENT_VERSION,
                "agent": self._agent,
                "login": self.login,
                "type": "manager",
            },
            None,
            write=False,
        )
        code = parse_retcode(start.get("retcode"), start)
        if code != 0:
            raise AuthFailed(f"auth/start: {start.get('retcode')}", retcode=code, raw=start)
        try:
            srv_rand = bytes.fromhex(to_str(start.get("srv_rand")))
        except ValueError as exc:
            raise ProtocolError("auth/start: srv_rand is not hex", raw=start) from exc
        if not srv_rand:
            raise ProtocolError("auth/start: no srv_rand", raw=start)
        cli_rand = secrets.token_bytes(16)
        answer = self.send(
            "GET",
            "/api/auth/answer",
            {"srv_rand_answer": rand_answer(self._pw_hash, srv_rand), "cli_rand": cli_rand.hex()},
            None,
            write=False,
        )
        code = parse_retcode(answer.get("retcode"), answer)
        if code != 0:
            raise AuthFailed(f"auth/answer: {answer.get('retcode')}", retcode=code, raw=answer)
        expected = rand_answer(self._pw_hash, cli_rand)
        received = to_str(answer.get("cli_rand_answer")).strip().lower()
        if not hmac.compare_digest(expected.encode(), received.encode()):
            # The peer does not know the password: not our server (or a proxy in the way).
            self.reset()
            raise AuthFailed("auth/answer: the server's cli_rand_answer is wrong", raw=answer)
        self.authenticated = True
        log.info("mt5 web api: session opened on %s as %s", self.base_url, self.login)

    def ensure_ready(self) -> None:
        """Authenticate if needed; ping first if the connection sat idle (it may be gone)."""
        if self.authenticated and time.monotonic() - self.last_used > IDLE_PING_SECONDS:
            try:
                self.check(self.send("GET", "/api/test/access", None, None, write=False), "ping")
            except _SessionLost:
                self.reset()
        if not self.authenticated:
            try:
                self.authenticate()
            except _SessionLost as exc:
                self.reset()
                raise Transient(str(exc)) from exc

    @staticmethod
    def check(data: dict[str, Any], what: str) -> dict[str, Any]:
        raise_for_retcode(parse_retcode(data.get("retcode"), data), data, what)
        return data

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        *,
        write: bool = False,
        texts: bool = False,
    ) -> dict[str, Any]:
        with self.lock:
            attempts = 1 if write else 2
            for attempt in range(attempts):
                self.ensure_ready()
                try:
                    data = self.send(method, path, params, body, write=write, texts=texts)
                except _SessionLost as exc:
                    self.reset()
                    if attempt + 1 < attempts:
                        log.info("mt5 web api: %s; re-authenticating and retrying once", exc)
                        continue
                    if write:
                        # A 403 or a failed connect: the command was not executed.
                        raise Transient(f"{exc}; not applied") from exc
                    raise Transient(str(exc)) from exc
                if write and parse_retcode(data.get("retcode"), data) in _WRITE_UNKNOWN:
                    raise OutcomeUnknown(
                        f"{path}: {data.get('retcode')}; the server may have applied it, "
                        "look the operation up before sending it again",
                        retcode=parse_retcode(data.get("retcode"), data),
                        raw=data,
                    )
                return self.check(data, path)
        raise AssertionError("unreachable")  # pragma: no cover

    def quit(self) -> None:
        with self.lock:
            if self.authenticated:
                with contextlib.suppress(PlatformError, _SessionLost):
                    self.send("GET", "/api/quit", None, None, write=False)
            self.authenticated = False
            self.client.close()


# ---------------------------------------------------------------------------
# Per-process registry

_registry_lock = threading.Lock()
_sessions: dict[tuple[str, int], _Session] = {}
_sessions_pid = os.getpid()


def _forget_inherited_sessions() -> None:
    """In a forked child: drop the parent's sessions without closing their sockets."""
    global _sessions_pid, _registry_lock
    _registry_lock = threading.Lock()
    _sessions.clear()
    _sessions_pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_sessions)


def _session_for(key: tuple[str, int], factory: Any) -> _Session:
    with _registry_lock:
        if os.getpid() != _sessions_pid:
            _forget_inherited_sessions()
        session = _sessions.get(key)
        if session is None:
            session = factory()
            _sessions[key] = session
        return session


def ping_idle_sessions() -> int:
    """Ping this process's sessions idle for more than 20 s; returns how many were pinged.

    Calls already ping lazily before use; call this from a timer in long-lived workers
    to keep sessions from the server's 180 s idle cut (a lost one is re-opened anyway).
    """
    with _registry_lock:
        sessions = [s for s in _sessions.values() if s.pid == os.getpid()]
    pinged = 0
    for session in sessions:
        with session.lock:
            if session.authenticated and time.monotonic() - session.last_used > IDLE_PING_SECONDS:
                with contextlib.suppress(PlatformError):
                    session.call("GET", "/api/test/access")
                pinged += 1
    return pinged


def close_all_sessions() -> None:
    """Quit every session this process holds (shutdown hook, tests)."""
    with _registry_lock:
        sessions = list(_sessions.values())
        _sessions.clear()
    for session in sessions:
        session.quit()


# ---------------------------------------------------------------------------
# The platform

_PATCH_FIELDS = {
    "group": "Group",
    "name": "Name",
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "Email",
    "phone": "Phone",
    "country": "Country",
    "city": "City",
    "comment": "Comment",
    "leverage": "Leverage",
    "rights": "Rights",
    "status": "Status",
    "lead_source": "LeadSource",
    "lead_campaign": "LeadCampaign",
}
# Not sent back on update: money moves only through balance ops; the rest the server owns.
_READ_ONLY_USER_FIELDS = {
    "Login",
    "Balance",
    "Credit",
    "Registration",
    "LastAccess",
    "LastPassChange",
    "LastIP",
    "BalancePrevDay",
    "BalancePrevMonth",
    "EquityPrevDay",
    "EquityPrevMonth",
    "InterestRate",
    "CommissionDaily",
    "CommissionMonthly",
    "CommissionAgentDaily",
    "CommissionAgentMonthly",
}


def _answer(data: dict[str, Any], what: str) -> Any:
    if "answer" not in data:
        raise ProtocolError(f"{what}: reply has no answer", raw=data)
    return data["answer"]


def _answer_dict(data: dict[str, Any], what: str) -> dict[str, Any]:
    answer = _answer(data, what)
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if not isinstance(answer, dict):
        raise ProtocolError(f"{what}: answer is not an object", raw=data)
    return answer


def _answer_list(data: dict[str, Any], what: str) -> list[dict[str, Any]]:
    answer = data.get("answer")
    if answer in (None, "", {}):
        return []  # retcode 1 "no data" may come without an answer
    if isinstance(answer, dict):
        answer = [answer]
    if not isinstance(answer, list) or not all(isinstance(x, dict) for x in answer):
        raise ProtocolError(f"{what}: answer is not a list of objects", raw=data)
    return answer


def _volume_ext(row: dict[str, Any], ext: str, plain: str) -> int:
    """Prefer the 1e-8 lot field; fall back to the 1e-4 lot one."""
    if to_str(row.get(ext)) != "":
        return to_int(row.get(ext))
    return to_int(row.get(plain)) * 10_000


class WebApiPlatform:
    """A trading server reached through the MT5 Manager Web API."""

    capabilities = frozenset(Capability)

    def __init__(
        self,
        url: str,
        login: int,
        password: str,
        *,
        clock: ServerClock | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        agent: str = "crm",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Nothing is sent until the first call (lazy auth).

        ``verify``: True (system CAs), a CA bundle path (a self-signed server's own
        certificate, say), or False to skip verification. ``clock``: the trade server's
        clock, New York + 7 h by default. ``transport``: for tests (httpx.MockTransport).
        Objects for the same (url, login) in one process share one session.
        """
        if " " in agent or not agent:
            raise ValueError("agent must be non-empty with no spaces")
        self.url = url.rstrip("/")
        self.login = int(login)
        self.clock = clock or ServerClock()
        key = (self.url, self.login)
        self._session = _session_for(
            key,
            lambda: _Session(
                base_url=self.url,
                login=self.login,
                password=password,
                verify=verify,
                timeout=timeout,
                connect_timeout=connect_timeout,
                agent=agent,
                transport=transport,
            ),
        )

    def __repr__(self) -> str:
        return f"WebApiPlatform({self.url!r}, login={self.login})"

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        *,
        write: bool = False,
        texts: bool = False,
    ) -> dict[str, Any]:
        session = self._session
        if session.pid != os.getpid():
            # Built before a fork: find (or make) this process's own session.
            session = self._session = _session_for((self.url, self.login), session.clone)
        return session.call(method, path, params, body, write=write, texts=texts)

    def close(self) -> None:
        with _registry_lock:
            if _sessions.get((self.url, self.login)) is self._session:
                del _sessions[(self.url, self.login)]
        self._session.quit()

    # -- parsing

    def _record(self, row: dict[str, Any]) -> AccountRecord:
        return AccountRecord(
            login=to_int(row.get("Login")),
            group=to_str(row.get("Group")),
            leverage=to_int(row.get("Leverage")),
            name=to_str(row.get("Name")),
            first_name=to_str(row.get("FirstName")),
            last_name=to_str(row.get("LastName")),
            email=to_str(row.get("Email")),
            rights=to_int(row.get("Rights")),
            balance=to_decimal(row.get("Balance")),
            credit=to_decimal(row.get("Credit")),
            country=to_str(row.get("Country")),
            phone=to_str(row.get("Phone")),
            comment=to_str(row.get("Comment")),
            raw=dict(row),
        )

    def _deal(self, row: dict[str, Any]) -> Deal:
        time_msc = to_int(row.get("TimeMsc")) or to_int(row.get("Time")) * 1000
        action = to_int(row.get("Action"))
        return Deal(
            ticket=to_int(row.get("Deal")),
            login=to_int(row.get("Login")),
            order=to_int(row.get("Order")),
            position_id=to_int(row.get("PositionID")),
            action=action,
            action_known=action in KNOWN_DEAL_ACTIONS,
            entry=to_int(row.get("Entry")),
            reason=to_int(row.get("Reason")),
            time=self.clock.to_utc_ms(time_msc),
            time_msc=time_msc,
            symbol=to_str(row.get("Symbol")),
            price=to_decimal(row.get("Price")),
            volume_ext=_volume_ext(row, "VolumeExt", "Volume"),
            profit=to_decimal(row.get("Profit")),
            swap=to_decimal(row.get("Storage")),
            commission=to_decimal(row.get("Commission")),
            fee=to_decimal(row.get("Fee")),
            comment=to_str(row.get("Comment")),
            external_id=to_str(row.get("ExternalID")),
            magic=to_int(row.get("ExpertID")),
            raw=dict(row),
        )

    def _position(self, row: dict[str, Any]) -> Position:
        create_msc = to_int(row.get("TimeCreateMsc")) or to_int(row.get("TimeCreate")) * 1000
        update_msc = to_int(row.get("TimeUpdateMsc")) or to_int(row.get("TimeUpdate")) * 1000
        return Position(
            ticket=to_int(row.get("Position")),
            login=to_int(row.get("Login")),
            symbol=to_str(row.get("Symbol")),
            action=to_int(row.get("Action")),
            volume_ext=_volume_ext(row, "VolumeExt", "Volume"),
            price_open=to_decimal(row.get("PriceOpen")),
            price_current=to_decimal(row.get("PriceCurrent")),
            sl=to_decimal(row.get("PriceSL")),
            tp=to_decimal(row.get("PriceTP")),
            profit=to_decimal(row.get("Profit")),
            swap=to_decimal(row.get("Storage")),
            time_create=self.clock.to_utc_ms(create_msc),
            time_create_msc=create_msc,
            time_update=self.clock.to_utc_ms(update_msc),
            time_update_msc=update_msc,
            comment=to_str(row.get("Comment")),
            magic=to_int(row.get("ExpertID")),
        )

    # -- the interface

    def ping(self) -> None:
        self._call("GET", "/api/test/access")

    def create_account(self, new: NewAccount) -> AccountRecord:
        if not 1 <= new.leverage <= 500:
            raise InvalidRequest("leverage must be 1-500")
        params: dict[str, Any] = {"group": new.group, "name": new.name, "leverage": new.leverage}
        if new.login:
            params["login"] = new.login
        body = {
            "PassMain": new.password_main,
            "PassInvestor": new.password_investor,
            "Email": new.email,
            "FirstName": new.first_name,
            "LastName": new.last_name,
            "Phone": new.phone,
            "Country": new.country,
            "City": new.city,
            "Comment": new.comment,
            "LeadSource": new.lead_source,
            "LeadCampaign": new.lead_campaign,
        }
        body = {k: v for k, v in body.items() if v != "" or k.startswith("Pass")}
        data = self._call("POST", "/api/user/add", params, body, write=True)
        return self._record(_answer_dict(data, "user/add"))

    def get_account(self, login: int) -> AccountRecord:
        data = self._call("GET", "/api/user/get", {"login": int(login)})
        return self._record(_answer_dict(data, "user/get"))

    def update_account(self, login: int, patch: AccountPatch) -> AccountRecord:
        # Read-modify-write: send the whole record back with our changes, because at
        # least one gateway clears fields missing from an update (UNVERIFIED). The window
        # between read and write can overwrite a concurrent edit of another field.
        current = self.get_account(login).raw
        changes = {
            wire: str(getattr(patch, attr))
            for attr, wire in _PATCH_FIELDS.items()
            if getattr(patch, attr) is not None
        }
        if not changes:
            return self._record(current)
        body = {k: v for k, v in current.items() if k not in _READ_ONLY_USER_FIELDS}
        body.update(changes)
        data = self._call("POST", "/api/user/update", {"login": int(login)}, body, write=True)
        if isinstance(data.get("answer"), dict | list) and data.get("answer"):
            return self._record(_answer_dict(data, "user/update"))
        return self.get_account(login)

    def get_account_state(self, login: int) -> AccountState:
        row = _answer_dict(
            self._call("GET", "/api/user/account/get", {"login": int(login)}), "account/get"
        )
        return AccountState(
            login=to_int(row.get("Login")) or int(login),
            balance=to_decimal(row.get("Balance")),
            credit=to_decimal(row.get("Credit")),
            equity=to_decimal(row.get("Equity")),
            margin=to_decimal(row.get("Margin")),
            margin_free=to_decimal(row.get("MarginFree")),
            margin_level=to_decimal(row.get("MarginLevel")),
            profit=to_decimal(row.get("Profit")),
            currency_digits=to_int(row.get("CurrencyDigits")),
        )

    def apply_balance_op(self, op: BalanceOp) -> BalanceResult:
        """Send once. On ``OutcomeUnknown`` call ``find_balance_op`` before anything else."""
        if op.kind not in {int(k) for k in BalanceKind}:
            raise InvalidRequest(f"balance op kind must be 2-6, got {op.kind}")
        amount = Decimal(op.amount)
        if amount == 0:
            raise InvalidRequest("a balance op needs a non-zero amount")
        params = {
            "login": str(int(op.login)),
            "type": str(int(op.kind)),
            "balance": format(amount, "f"),
            "comment": balance_comment(op.op_ref, op.comment),
            "check_margin": "1" if op.check_margin else "0",
        }
        data = self._call("POST", "/api/trade/balance", params, dict(params), write=True)
        row = _answer_dict(data, "trade/balance")
        ticket = to_int(row.get("Ticket"))
        if not ticket:
            raise ProtocolError("trade/balance: no Ticket in the answer", raw=data)
        return BalanceResult(deal_ticket=ticket, applied_now=True)

    def find_balance_op(
        self, login: int, op_ref: str, since: datetime, *, kind: int | None = None
    ) -> Deal | None:
        start = since - LOOKUP_MARGIN
        end = datetime.now(UTC) + LOOKUP_MARGIN
        for deal in self.fetch_deals(Selector.for_logins([login]), start, end):
            if kind is not None and deal.action != kind:
                continue
            if kind is None and deal.action not in {int(k) for k in BalanceKind}:
                continue
            if comment_has_op_ref(deal.comment, op_ref):
                return deal
        return None

    def _day_chunks(self, since: datetime, until: datetime) -> Iterator[tuple[int, int]]:
        start = self.clock.from_utc(since)
        end = self.clock.from_utc(until)
        while start <= end:
            chunk_end = min(start + DAY_SECONDS - 1, end)
            yield start, chunk_end
            start = chunk_end + 1

    @staticmethod
    def _selector_params(selector: Selector) -> Iterator[dict[str, str]]:
        if selector.group:
            yield {"group": selector.group}
            return
        logins = list(dict.fromkeys(selector.logins))
        for i in range(0, len(logins), LOGIN_BATCH):
            yield {"login": ",".join(str(x) for x in logins[i : i + LOGIN_BATCH])}

    def fetch_deals(
        self, selector: Selector | Sequence[int] | str, since: datetime, until: datetime
    ) -> list[Deal]:
        """Deals with since <= time <= until (UTC), in day chunks and login batches."""
        selector = Selector.coerce(selector)
        seen: dict[int, Deal] = {}
        for chosen in self._selector_params(selector):
            for start, end in self._day_chunks(since, until):
                params = {**chosen, "from": str(start), "to": str(end)}
                data = self._call("GET", "/api/deal/get_batch", params)
                for row in _answer_list(data, "deal/get_batch"):
                    deal = self._deal(row)
                    seen[deal.ticket] = deal
        return sorted(seen.values(), key=lambda d: (d.time_msc, d.ticket))

    def fetch_deal_records(
        self, selector: Selector | Sequence[int] | str, since: datetime, until: datetime
    ) -> list[tuple[dict[str, Any], str]]:
        """The same deals as fetch_deals, as the server wrote them (string scalars, server
        clock): each deal's fields and its JSON text as sent, for a bulk store that converts
        them in the database and keeps the text as the raw copy (clients.deal_store)."""
        selector = Selector.coerce(selector)
        seen: dict[str, tuple[dict[str, Any], str]] = {}
        for chosen in self._selector_params(selector):
            for start, end in self._day_chunks(since, until):
                params = {**chosen, "from": str(start), "to": str(end)}
                data = self._call("GET", "/api/deal/get_batch", params, texts=True)
                rows = _answer_list(data, "deal/get_batch")
                texts = getattr(data, "answer_texts", None)
                if texts is None or len(texts) != len(rows):  # a lone object, or no answer
                    texts = [json.dumps(row) for row in rows]
                for row, text in zip(rows, texts, strict=True):
                    if not isinstance(row, dict) or not str(row.get("Deal", "")).isdigit():
                        raise ProtocolError(
                            "deal/get_batch: a deal without a ticket", raw=str(row)[:2000]
                        )
                    seen[str(row["Deal"])] = (row, text)
        return list(seen.values())

    def list_positions(self, selector: Selector | Sequence[int] | str) -> list[Position]:
        selector = Selector.coerce(selector)
        positions: dict[int, Position] = {}
        for chosen in self._selector_params(selector):
            data = self._call("GET", "/api/position/get_batch", chosen)
            for row in _answer_list(data, "position/get_batch"):
                position = self._position(row)
                positions[position.ticket] = position
        return list(positions.values())

    def get_group(self, name: str) -> GroupInfo:
        row = _answer_dict(self._call("GET", "/api/group/get", {"group": name}), "group/get")
        return GroupInfo(
            name=to_str(row.get("Group")),
            server=to_int(row.get("Server")),
            currency=to_str(row.get("Currency")),
            currency_digits=to_int(row.get("CurrencyDigits")),
            margin_call=to_decimal(row.get("MarginCall")),
            margin_stop_out=to_decimal(row.get("MarginStopOut")),
            raw=dict(row),
        )

    def get_symbol(self, name: str) -> SymbolInfo:
        row = _answer_dict(self._call("GET", "/api/symbol/get", {"symbol": name}), "symbol/get")
        return SymbolInfo(
            name=to_str(row.get("Symbol")),
            path=to_str(row.get("Path")),
            description=to_str(row.get("Description")),
            digits=to_int(row.get("Digits")),
            contract_size=to_decimal(row.get("ContractSize")),
            volume_min_ext=_volume_ext(row, "VolumeMinExt", "VolumeMin"),
            volume_max_ext=_volume_ext(row, "VolumeMaxExt", "VolumeMax"),
            volume_step_ext=_volume_ext(row, "VolumeStepExt", "VolumeStep"),
            raw=dict(row),
        )

    def last_ticks(self, symbols: Sequence[str]) -> list[Tick]:
        if not symbols:
            return []
        data = self._call("GET", "/api/tick/last", {"symbol": ",".join(symbols), "trans_id": "0"})
        ticks = []
        for row in _answer_list(data, "tick/last"):
            time_msc = to_int(row.get("DatetimeMsc")) or to_int(row.get("Datetime")) * 1000
            ticks.append(
                Tick(
                    symbol=to_str(row.get("Symbol")),
                    bid=to_decimal(row.get("Bid")),
                    ask=to_decimal(row.get("Ask")),
                    last=to_decimal(row.get("Last")),
                    time=self.clock.to_utc_ms(time_msc),
                    time_msc=time_msc,
                    digits=to_int(row.get("Digits")),
                )
            )
        return ticks

    def server_time(self) -> ServerTime:
        """The server's clock; compare ``utc`` with now to check the ServerClock setting."""
        data = self._call("GET", "/api/time/server")
        answer = data.get("answer")
        if isinstance(answer, list) and answer:
            answer = answer[0]
        if isinstance(answer, dict):
            value = answer.get("Time", answer.get("time"))
        else:
            value = answer if answer is not None else data.get("time")
        seconds = to_int(value)
        if not seconds:
            raise ProtocolError("time/server: no time in the reply", raw=data)
        return ServerTime(server_seconds=seconds, utc=self.clock.to_utc(seconds))


def build(**config: Any) -> WebApiPlatform:
    """Registry entry: url, login, password, and optional WebApiPlatform keywords.

    ``zone`` and ``shift_hours`` build the ServerClock when no ``clock`` is given.
    """
    zone = config.pop("zone", None)
    shift = config.pop("shift_hours", None)
    if "clock" not in config and (zone is not None or shift is not None):
        config["clock"] = ServerClock(
            zone=zone or "America/New_York", shift_hours=7 if shift is None else shift
        )
    return WebApiPlatform(**config)
