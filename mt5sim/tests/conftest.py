"""Start the simulator on a free loopback port in a thread; talk to it over real HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mt5sim import (
    DEFAULT_MANAGER_LOGIN,
    DEFAULT_MANAGER_PASSWORD,
    ManualClock,
    SimServer,
    Simulator,
)
from mt5sim.auth import answers_match, password_hash, rand_answer

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def handshake(
    client: httpx.Client,
    password: str = DEFAULT_MANAGER_PASSWORD,
    login: int = DEFAULT_MANAGER_LOGIN,
) -> dict[str, Any]:
    start = client.get(
        "/api/auth/start",
        params={"version": "1290", "agent": "crm-tests", "login": login, "type": "manager"},
    ).json()
    assert start["retcode"] == "0 Done"
    pw_hash = password_hash(password)
    cli_rand = secrets.token_hex(16)
    reply = client.get(
        "/api/auth/answer",
        params={"srv_rand_answer": rand_answer(pw_hash, start["srv_rand"]), "cli_rand": cli_rand},
    ).json()
    if reply["retcode"] == "0 Done":
        assert answers_match(rand_answer(pw_hash, cli_rand), reply["cli_rand_answer"])
    return reply


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(seed=7, clock=clock, traders=2)


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimServer]:
    with SimServer(sim, port=0) as srv:
        yield srv


@pytest.fixture
def anon(server: SimServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as c:
        yield c


@pytest.fixture
def api(anon: httpx.Client) -> httpx.Client:
    """A client with an authenticated manager session."""
    assert handshake(anon)["retcode"] == "0 Done"
    return anon


def call(client: httpx.Client, path: str, method: str = "GET", **kw: Any) -> dict[str, Any]:
    r = client.request(method, path, **kw)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def code(reply: dict[str, Any]) -> int:
    return int(reply["retcode"].split(" ", 1)[0])
