from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from clients.platforms import webapi
from clients.platforms.base import (
    AccountPatch,
    AlreadyExists,
    AuthFailed,
    BalanceKind,
    BalanceOp,
    InsufficientFunds,
    InvalidRequest,
    NewAccount,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    PlatformError,
    ProtocolError,
    Selector,
    Transient,
    UnknownRetcode,
    balance_op_ensure,
)
from clients.platforms.webapi import WebApiPlatform, password_hash, rand_answer

from .fake_webapi import CLOCK, MANAGER_LOGIN, MANAGER_PASSWORD, URL, FakeWebApi

LOGIN = 954402


@pytest.fixture(autouse=True)
def _fresh_sessions() -> Iterator[None]:
    webapi.close_all_sessions()
    yield
    webapi.close_all_sessions()


@pytest.fixture
def server() -> FakeWebApi:
    fake = FakeWebApi()
    fake.add_user(LOGIN, balance="26000.10")
    return fake


def connect(server: FakeWebApi, password: str = MANAGER_PASSWORD) -> WebApiPlatform:
    return WebApiPlatform(
        URL, MANAGER_LOGIN, password, clock=CLOCK, verify=False, transport=server.transport()
    )


# -- handshake


def test_auth_arithmetic_reproduces_the_official_test_vectors() -> None:
    pw = password_hash("Password1")
    assert pw.hex() == "904ba8ecb16273d2f0ae9c3b8a023752"
    srv_rand = bytes.fromhex("73007dc7184747ce0f7c98516ef1c851")
    assert rand_answer(pw, srv_rand) == "77fe51827f7fa69dd80fbec9aa33f1bb"
    cli_rand = bytes.fromhex("4db98fec17aab4dc5a240bdc659e8395")
    assert rand_answer(pw, cli_rand) == "1732021b1b332f51660b2b315eed3a35"


def test_auth_is_lazy_and_happens_once(server: FakeWebApi) -> None:
    platform = connect(server)
    assert server.requests == []
    platform.ping()
    platform.get_account(LOGIN)
    assert server.paths() == [
        "/api/auth/start",
        "/api/auth/answer",
        "/api/test/access",
        "/api/user/get",
    ]
    start = server.requests[0].url.params
    assert start["type"] == "manager"
    assert start["login"] == str(MANAGER_LOGIN)
    assert int(start["version"]) >= 484
    assert " " not in start["agent"] and start["agent"]


def test_a_server_that_cannot_prove_the_password_is_refused(server: FakeWebApi) -> None:
    server.bad_proof = True
    platform = connect(server)
    with pytest.raises(AuthFailed, match="cli_rand_answer"):
        platform.get_account(LOGIN)
    assert "/api/user/get" not in server.paths()


def test_wrong_manager_password_is_auth_failed(server: FakeWebApi) -> None:
    platform = connect(server, password="Wrong#pass1")  # noqa: S106
    with pytest.raises(AuthFailed) as info:
        platform.ping()
    assert info.value.retcode == 1001


def test_the_password_never_appears_in_a_url(server: FakeWebApi) -> None:
    platform = connect(server)
    platform.create_account(
        NewAccount(
            group="demo\\usd",
            name="John Roe",
            leverage=100,
            password_main="Main#pass1",  # noqa: S106
            password_investor="Inv#pass12",  # noqa: S106
        )
    )
    for request in server.requests:
        url = str(request.url)
        assert MANAGER_PASSWORD not in url
        assert "Main#pass1" not in url and "Main%23pass1" not in url
    add = next(r for r in server.requests if r.url.path == "/api/user/add")
    assert b'"PassMain": "Main#pass1"' in add.content


# -- session loss, retries, writes


def test_a_403_mid_session_reauthenticates_once_and_the_read_succeeds(
    server: FakeWebApi,
) -> None:
    platform = connect(server)
    platform.ping()
    server.fault("/api/user/get", "403")
    record = platform.get_account(LOGIN)
    assert record.login == LOGIN
    assert server.hits["/api/auth/start"] == 2
    assert server.hits["/api/user/get"] == 2


def test_a_read_is_retried_only_once(server: FakeWebApi) -> None:
    platform = connect(server)
    server.fault("/api/user/get", "403", "403")
    with pytest.raises(Transient):
        platform.get_account(LOGIN)
    assert server.hits["/api/user/get"] == 2


def test_a_dropped_connection_on_a_read_is_retried(server: FakeWebApi) -> None:
    platform = connect(server)
    server.fault("/api/user/account/get", "drop")
    state = platform.get_account_state(LOGIN)
    assert state.balance == Decimal("26000.10")
    assert server.hits["/api/user/account/get"] == 2


def test_a_balance_op_whose_reply_times_out_is_outcome_unknown_and_not_resent(
    server: FakeWebApi,
) -> None:
    platform = connect(server)
    created = datetime.now(UTC)
    op = BalanceOp(login=LOGIN, kind=BalanceKind.BALANCE, amount=Decimal("100.00"), op_ref="w42")
    server.fault("/api/trade/balance", "commit_then_timeout")
    with pytest.raises(OutcomeUnknown):
        platform.apply_balance_op(op)
    assert server.hits["/api/trade/balance"] == 1
    assert server.users[LOGIN]["Balance"] == "26100.10"

    # The follow-up finds the deal instead of paying twice.
    found = platform.find_balance_op(LOGIN, "w42", created, kind=BalanceKind.BALANCE)
    assert found is not None and found.comment == "CRM#w42"
    result = balance_op_ensure(platform, op, since=created)
    assert result.applied_now is False and result.deal_ticket == found.ticket
    assert server.hits["/api/trade/balance"] == 1
    assert server.users[LOGIN]["Balance"] == "26100.10"


def test_a_write_that_times_out_before_anything_is_applied_is_still_unknown(
    server: FakeWebApi,
) -> None:
    platform = connect(server)
    server.fault("/api/user/update", "timeout")
    with pytest.raises(OutcomeUnknown):
        platform.update_account(LOGIN, AccountPatch(comment="vip"))
    assert server.hits["/api/user/update"] == 1


def test_a_write_refused_with_403_is_not_resent(server: FakeWebApi) -> None:
    platform = connect(server)
    platform.ping()
    server.fault("/api/trade/balance", "403")
    op = BalanceOp(login=LOGIN, kind=2, amount=Decimal("5"), op_ref="w43")
    with pytest.raises(Transient):
        platform.apply_balance_op(op)
    assert server.hits["/api/trade/balance"] == 1
    assert server.users[LOGIN]["Balance"] == "26000.10"


def test_apply_balance_op_sends_the_reference_and_check_margin(server: FakeWebApi) -> None:
    platform = connect(server)
    op = BalanceOp(
        login=LOGIN,
        kind=2,
        amount=Decimal("-26000.10"),
        op_ref="wd-20261125-000123",
        comment="withdrawal to card ending 4242",
        check_margin=True,
    )
    result = platform.apply_balance_op(op)
    assert result.applied_now is True
    sent = next(r for r in server.requests if r.url.path == "/api/trade/balance").url.params
    assert sent["comment"].startswith("CRM#wd-20261125-000123")
    assert len(sent["comment"]) <= 31
    assert sent["check_margin"] == "1"
    assert sent["balance"] == "-26000.10"
    assert server.users[LOGIN]["Balance"] == "0.00"
    with pytest.raises(InsufficientFunds):
        platform.apply_balance_op(
            BalanceOp(login=LOGIN, kind=2, amount=Decimal("-0.01"), op_ref="wd2")
        )


def test_find_balance_op_does_not_match_a_longer_reference(server: FakeWebApi) -> None:
    platform = connect(server)
    since = datetime.now(UTC)
    platform.apply_balance_op(BalanceOp(login=LOGIN, kind=2, amount=Decimal(1), op_ref="123"))
    assert platform.find_balance_op(LOGIN, "12", since) is None
    assert platform.find_balance_op(LOGIN, "123", since, kind=BalanceKind.CREDIT) is None
    assert platform.find_balance_op(LOGIN, "123", since) is not None


def test_find_balance_op_queries_on_the_server_clock_with_ten_minutes_margin(
    server: FakeWebApi,
) -> None:
    platform = connect(server)
    since = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    platform.find_balance_op(LOGIN, "x1", since)
    first = next(r for r in server.requests if r.url.path == "/api/deal/get_batch").url.params
    # July: server = UTC + 3 h.
    expected = int(datetime(2026, 7, 1, 14, 50, tzinfo=UTC).timestamp())
    assert int(first["from"]) == expected
    assert first["login"] == str(LOGIN)


def test_idle_session_is_pinged_before_the_next_call(server: FakeWebApi) -> None:
    platform = connect(server)
    platform.get_account(LOGIN)
    platform._session.last_used -= 30
    server.sessions.clear()  # the server dropped it meanwhile
    platform.get_account(LOGIN)
    assert server.paths()[3:] == [
        "/api/test/access",
        "/api/auth/start",
        "/api/auth/answer",
        "/api/user/get",
    ]


def test_close_quits_the_session(server: FakeWebApi) -> None:
    platform = connect(server)
    platform.ping()
    platform.close()
    assert server.paths()[-1] == "/api/quit"


def test_one_session_per_process_and_a_new_one_after_fork(
    server: FakeWebApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = connect(server)
    b = connect(server)
    assert a._session is b._session
    a.ping()
    real_pid = webapi.os.getpid()
    monkeypatch.setattr(webapi.os, "getpid", lambda: real_pid + 1)
    a.ping()
    assert a._session is not b._session
    assert server.hits["/api/auth/start"] == 2  # the child authenticated its own session


# -- replies


@pytest.mark.parametrize(
    ("retcode", "error"),
    [
        ("13 Not found", NotFound),
        ("3004 User exists", AlreadyExists),
        ("10019 No money", InsufficientFunds),
        ("8 No permissions", PermissionDenied),
        ("9 Timeout", Transient),
        ("10 No connection", Transient),
        ("12 Too frequent", Transient),
        ("1005 Auth error", AuthFailed),
        ("3 Invalid parameters", InvalidRequest),
        ("4 Invalid data", InvalidRequest),
        ("3006 Bad password", InvalidRequest),
        ("4005 Too large", InvalidRequest),
        ("2 Common error", PlatformError),
    ],
)
def test_retcodes_map_to_typed_errors(
    server: FakeWebApi, retcode: str, error: type[PlatformError]
) -> None:
    platform = connect(server)
    server.fault("/api/user/get", retcode)
    with pytest.raises(error) as info:
        platform.get_account(LOGIN)
    assert type(info.value) is error
    assert info.value.retcode == int(retcode.split()[0])


def test_an_unknown_retcode_keeps_the_raw_body(server: FakeWebApi) -> None:
    platform = connect(server)
    server.fault("/api/user/get", "7777 Something new")
    with pytest.raises(UnknownRetcode) as info:
        platform.get_account(LOGIN)
    assert info.value.retcode == 7777
    assert info.value.raw == {"retcode": "7777 Something new"}


def test_a_garbage_body_is_a_protocol_error_with_the_raw_text(server: FakeWebApi) -> None:
    platform = connect(server)
    server.fault("/api/user/get", "garbage")
    with pytest.raises(ProtocolError) as info:
        platform.get_account(LOGIN)
    assert info.value.raw == "<html>Bad Gateway</html>"


def test_string_scalars_parse_to_exact_types(server: FakeWebApi) -> None:
    platform = connect(server)
    record = platform.get_account(LOGIN)
    assert record.balance == Decimal("26000.10")
    assert isinstance(record.balance, Decimal)
    assert record.leverage == 100 and record.rights == 2403
    state = platform.get_account_state(LOGIN)
    assert state.equity == Decimal("26000.10") and state.currency_digits == 2


def test_not_found_user(server: FakeWebApi) -> None:
    with pytest.raises(NotFound):
        connect(server).get_account(1)


# -- accounts


def test_create_account_and_duplicate_login(server: FakeWebApi) -> None:
    platform = connect(server)
    new = NewAccount(
        group="demo\\usd",
        name="John Roe",
        leverage=200,
        password_main="Main#pass1",  # noqa: S106
        password_investor="Inv#pass12",  # noqa: S106
        email="john@example.com",
    )
    record = platform.create_account(new)
    assert record.login == 954400 and record.leverage == 200
    assert record.email == "john@example.com"
    with pytest.raises(AlreadyExists):
        platform.create_account(
            NewAccount(
                group="demo\\usd",
                name="X",
                leverage=100,
                password_main="Main#pass1",  # noqa: S106
                password_investor="Inv#pass12",  # noqa: S106
                login=LOGIN,
            )
        )
    assert server.hits["/api/user/add"] == 2


def test_update_account_is_read_modify_write(server: FakeWebApi) -> None:
    platform = connect(server)
    record = platform.update_account(LOGIN, AccountPatch(leverage=50, email="new@example.com"))
    assert record.leverage == 50 and record.email == "new@example.com"
    update = next(r for r in server.requests if r.url.path == "/api/user/update")
    body = update.content.decode()
    assert '"FirstName": "Jane"' in body  # unchanged fields go back as they were
    assert "Balance" not in body
    assert server.paths().index("/api/user/get") < server.paths().index("/api/user/update")


# -- deals, positions, market data


def test_fetch_deals_chunks_by_day_and_login_batch_and_keeps_unknown_actions(
    server: FakeWebApi,
) -> None:
    platform = connect(server)
    since = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)
    until = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # across the US DST switch (8 March)
    winter = CLOCK.from_utc(datetime(2026, 3, 6, 10, 0, tzinfo=UTC))
    summer = CLOCK.from_utc(datetime(2026, 3, 8, 22, 0, tzinfo=UTC))
    server.add_deal(LOGIN, winter, Action="0", Symbol="EURUSD", VolumeExt="150000000")
    server.add_deal(LOGIN, summer, Action="42", Comment="new kind", Profit="-1.25")
    server.add_deal(777, summer)  # someone we did not ask for
    logins = [LOGIN, *range(1, 250)]
    deals = platform.fetch_deals(logins, since, until)
    batches = {
        r.url.params["login"] for r in server.requests if r.url.path == "/api/deal/get_batch"
    }
    assert len(batches) == 3  # 250 logins in batches of 100
    assert server.hits["/api/deal/get_batch"] == 3 * 4  # 3 days + the boundary second
    assert [d.login for d in deals] == [LOGIN, LOGIN]
    first, second = deals
    assert first.time == datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    assert first.time_msc == winter * 1000
    assert winter - int(first.time.timestamp()) == 2 * 3600
    assert second.time == datetime(2026, 3, 8, 22, 0, tzinfo=UTC)
    assert summer - int(second.time.timestamp()) == 3 * 3600
    assert first.volume_ext == 150_000_000 and first.action_known
    assert second.action == 42 and second.action_known is False
    assert second.profit == Decimal("-1.25")
    assert second.raw["Comment"] == "new kind"


def test_fetch_deals_by_group_mask(server: FakeWebApi) -> None:
    platform = connect(server)
    now = datetime.now(UTC)
    platform.fetch_deals(Selector.for_group("demo*,!demoforex"), now - timedelta(hours=1), now)
    sent = next(r for r in server.requests if r.url.path == "/api/deal/get_batch").url.params
    assert sent["group"] == "demo*,!demoforex" and "login" not in sent


def test_positions_ticks_group_symbol_and_server_time(server: FakeWebApi) -> None:
    platform = connect(server)
    t = CLOCK.from_utc(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    server.positions.append(
        {
            "Position": "88",
            "Login": str(LOGIN),
            "Symbol": "EURUSD",
            "Action": "1",
            "TimeCreate": str(t),
            "TimeCreateMsc": str(t * 1000),
            "TimeUpdate": str(t),
            "TimeUpdateMsc": str(t * 1000),
            "PriceOpen": "1.08000",
            "PriceCurrent": "1.08527",
            "PriceSL": "0",
            "PriceTP": "0",
            "Volume": "1000",
            "VolumeExt": "10000000",
            "Profit": "-52.70",
            "Storage": "-0.35",
            "ExpertID": "0",
            "Comment": "",
        }
    )
    (position,) = platform.list_positions([LOGIN])
    assert position.volume_ext == 10_000_000 and position.profit == Decimal("-52.70")
    assert position.time_create == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ticks = platform.last_ticks(["EURUSD", "XAUUSD"])
    assert [x.symbol for x in ticks] == ["EURUSD"]
    assert ticks[0].bid == Decimal("1.08512")
    assert platform.get_group("demo\\usd").margin_stop_out == Decimal("50.00")
    with pytest.raises(NotFound):
        platform.get_group("nope")
    symbol = platform.get_symbol("EURUSD")
    assert symbol.volume_min_ext == 1_000_000 and symbol.volume_step_ext == 1_000_000
    assert symbol.contract_size == Decimal("100000.00")
    now = platform.server_time()
    assert abs((now.utc - datetime.now(UTC)).total_seconds()) < 5


@pytest.mark.parametrize("fault", ["http502", "garbage", "9 Timeout", "10 No connection"])
def test_an_ambiguous_reply_to_a_write_is_outcome_unknown(server: FakeWebApi, fault: str) -> None:
    platform = connect(server)
    server.fault("/api/trade/balance", fault)
    with pytest.raises(OutcomeUnknown):
        platform.apply_balance_op(BalanceOp(login=LOGIN, kind=2, amount=Decimal(1), op_ref="a1"))
    assert server.hits["/api/trade/balance"] == 1


def test_too_frequent_on_a_write_is_a_refusal(server: FakeWebApi) -> None:
    platform = connect(server)
    server.fault("/api/trade/balance", "12 Too frequent")
    with pytest.raises(Transient) as info:
        platform.apply_balance_op(BalanceOp(login=LOGIN, kind=2, amount=Decimal(1), op_ref="a1"))
    assert type(info.value) is Transient and info.value.retcode == 12


def test_a_5xx_on_a_read_is_transient(server: FakeWebApi) -> None:
    platform = connect(server)
    platform.ping()
    server.fault("/api/user/get", "http502")
    with pytest.raises(Transient):
        platform.get_account(LOGIN)


def test_idle_sessions_can_be_pinged_from_a_timer(server: FakeWebApi) -> None:
    platform = connect(server)
    platform.ping()
    assert webapi.ping_idle_sessions() == 0
    platform._session.last_used -= 30
    assert webapi.ping_idle_sessions() == 1
    assert server.paths()[-1] == "/api/test/access"


def test_a_ca_bundle_path_is_accepted_for_verification(
    server: FakeWebApi, recwarn: pytest.WarningsRecorder
) -> None:
    import certifi

    platform = WebApiPlatform(
        "https://mt5-ca.test", MANAGER_LOGIN, MANAGER_PASSWORD, verify=certifi.where()
    )
    assert platform._session.client is not None
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
