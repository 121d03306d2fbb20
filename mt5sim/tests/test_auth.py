from __future__ import annotations

import http.client
import json
import secrets

import httpx

from mt5sim import DEFAULT_MANAGER_PASSWORD, ManualClock, SimServer
from mt5sim.auth import password_hash, rand_answer

from .conftest import call, code, handshake


def test_spec_test_vectors_are_reproduced():
    pw_hash = password_hash("Password1")
    assert pw_hash.hex() == "904ba8ecb16273d2f0ae9c3b8a023752"
    assert rand_answer(pw_hash, "73007dc7184747ce0f7c98516ef1c851") == (
        "77fe51827f7fa69dd80fbec9aa33f1bb"
    )
    assert rand_answer(pw_hash, "4db98fec17aab4dc5a240bdc659e8395") == (
        "1732021b1b332f51660b2b315eed3a35"
    )


def test_handshake_gives_a_session_and_a_verifiable_cli_rand_answer(anon: httpx.Client):
    start = anon.get(
        "/api/auth/start",
        params={"version": "1290", "agent": "crm", "login": "1000", "type": "manager"},
    )
    body = start.json()
    assert body["retcode"] == "0 Done"
    assert body["version_access"] == "1290"
    assert len(body["srv_rand"]) == 32 and int(body["srv_rand"], 16) >= 0
    assert "answer" not in body
    pw_hash = password_hash(DEFAULT_MANAGER_PASSWORD)
    cli_rand = secrets.token_hex(16)
    reply = anon.get(
        "/api/auth/answer",
        params={"srv_rand_answer": rand_answer(pw_hash, body["srv_rand"]), "cli_rand": cli_rand},
    ).json()
    assert reply["retcode"] == "0 Done"
    assert reply["cli_rand_answer"] == rand_answer(pw_hash, cli_rand)
    assert reply["version_trade"]
    assert call(anon, "/api/test/access") == {"retcode": "0 Done"}


def test_unauthenticated_calls_get_403(anon: httpx.Client):
    assert anon.get("/api/test/access").status_code == 403
    assert anon.get("/api/user/get", params={"login": "100000"}).status_code == 403


def test_wrong_password_gets_an_auth_retcode_and_no_session(anon: httpx.Client):
    reply = handshake(anon, password="Wrong#Pass1")
    assert 1000 <= code(reply) <= 1010
    assert "cli_rand_answer" not in reply
    assert anon.get("/api/test/access").status_code == 403


def test_unknown_manager_is_refused(anon: httpx.Client):
    assert code(handshake(anon, login=4242)) == 1001


def test_bad_start_parameters_are_refused(anon: httpx.Client):
    r = anon.get(
        "/api/auth/start", params={"version": "100", "agent": "a b", "login": "1", "type": "x"}
    )
    assert code(r.json()) == 3


def test_answer_after_the_10_second_window_is_refused(anon: httpx.Client, clock: ManualClock):
    start = anon.get(
        "/api/auth/start",
        params={"version": "1290", "agent": "crm", "login": "1000", "type": "manager"},
    ).json()
    clock.advance(10.5)
    pw_hash = password_hash(DEFAULT_MANAGER_PASSWORD)
    reply = anon.get(
        "/api/auth/answer",
        params={
            "srv_rand_answer": rand_answer(pw_hash, start["srv_rand"]),
            "cli_rand": secrets.token_hex(16),
        },
    ).json()
    assert 1000 <= code(reply) <= 1010
    assert anon.get("/api/test/access").status_code == 403


def test_session_expires_after_180_seconds_idle(api: httpx.Client, clock: ManualClock):
    clock.advance(170)
    assert call(api, "/api/test/access")["retcode"] == "0 Done"  # a ping keeps it alive
    clock.advance(170)
    assert call(api, "/api/test/access")["retcode"] == "0 Done"
    clock.advance(181)
    assert api.get("/api/test/access").status_code == 403


def test_quit_ends_the_session(api: httpx.Client):
    assert call(api, "/api/quit")["retcode"] == "0 Done"
    assert api.get("/api/test/access").status_code == 403


def test_session_is_set_as_a_cookie(anon: httpx.Client):
    handshake(anon)
    assert anon.cookies.get("MT5SIM_SID")
    with httpx.Client(base_url=str(anon.base_url), cookies=anon.cookies) as other:
        # Another connection with the cookie is the same session (third-party clients).
        assert other.get("/api/test/access").status_code == 200


def test_session_is_bound_to_the_keep_alive_connection_without_cookies(server: SimServer):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)

    def get(path: str) -> tuple[int, dict]:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, json.loads(r.read())

    status, start = get("/api/auth/start?version=1290&agent=raw&login=1000&type=manager")
    pw_hash = password_hash(DEFAULT_MANAGER_PASSWORD)
    answer = rand_answer(pw_hash, start["srv_rand"])
    status, reply = get(f"/api/auth/answer?srv_rand_answer={answer}&cli_rand={'ab' * 16}")
    assert reply["retcode"] == "0 Done"
    assert get("/api/test/access")[0] == 200
    other = http.client.HTTPConnection(server.host, server.port, timeout=5)
    other.request("GET", "/api/test/access")
    assert other.getresponse().status == 403
    conn.close()
    other.close()
