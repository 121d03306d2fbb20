"""The Web API client over real sockets: keep-alive on one connection, a dropped
connection, a write whose reply never comes, and a forked worker. The fake server's
logic is the same as in test_webapi.py, served by http.server on 127.0.0.1."""

import os
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from clients.platforms import webapi
from clients.platforms.base import AuthFailed, BalanceOp, OutcomeUnknown
from clients.platforms.webapi import WebApiPlatform

from .fake_webapi import CLOCK, MANAGER_LOGIN, MANAGER_PASSWORD, FakeWebApi

LOGIN = 954402


class LoopbackServer:
    def __init__(self, fake: FakeWebApi) -> None:
        self.fake = fake
        self.connections: list[tuple[str, int]] = []  # client address of each request
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.serve()

            def do_POST(self) -> None:
                self.serve()

            def serve(self) -> None:
                outer.connections.append(self.client_address)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command,
                    f"http://127.0.0.1{self.path}",
                    headers=dict(self.headers.items()),
                    content=body,
                )
                try:
                    response = outer.fake.handle(request)
                except httpx.ReadTimeout:
                    time.sleep(1.0)  # longer than the client waits
                    self.close_connection = True
                    return
                except httpx.RemoteProtocolError:
                    self.close_connection = True  # hang up without a reply
                    return
                payload = response.content
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in ("content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    webapi.close_all_sessions()
    fake = FakeWebApi()
    fake.add_user(LOGIN, balance="100.00")
    server = LoopbackServer(fake)
    yield server
    webapi.close_all_sessions()
    server.stop()


def connect(server: LoopbackServer) -> WebApiPlatform:
    return WebApiPlatform(
        server.url, MANAGER_LOGIN, MANAGER_PASSWORD, clock=CLOCK, verify=False, timeout=0.4
    )


def test_a_session_is_one_keep_alive_connection(loopback: LoopbackServer) -> None:
    platform = connect(loopback)
    platform.ping()
    platform.get_account(LOGIN)
    platform.get_account_state(LOGIN)
    assert len(loopback.connections) == 5
    assert len(set(loopback.connections)) == 1


def test_a_dropped_connection_on_a_read_reconnects_and_reauthenticates(
    loopback: LoopbackServer,
) -> None:
    platform = connect(loopback)
    platform.ping()
    loopback.fake.fault("/api/user/get", "drop")
    assert platform.get_account(LOGIN).login == LOGIN
    assert loopback.fake.hits["/api/auth/start"] == 2
    assert len(set(loopback.connections)) == 2


def test_a_balance_op_whose_reply_never_comes_is_not_resent(loopback: LoopbackServer) -> None:
    platform = connect(loopback)
    loopback.fake.fault("/api/trade/balance", "commit_then_timeout")
    op = BalanceOp(login=LOGIN, kind=2, amount=Decimal("50.00"), op_ref="t1")
    with pytest.raises(OutcomeUnknown):
        platform.apply_balance_op(op)
    assert loopback.fake.hits["/api/trade/balance"] == 1
    assert loopback.fake.users[LOGIN]["Balance"] == "150.00"
    # The session is usable again afterwards (on a new connection).
    assert platform.get_account_state(LOGIN).balance == Decimal("150.00")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_opens_its_own_session(loopback: LoopbackServer) -> None:
    platform = connect(loopback)
    platform.ping()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            ok = platform.get_account(LOGIN).login == LOGIN
            os.write(write_end, b"ok" if ok else b"no")
        except BaseException as exc:  # noqa: BLE001
            os.write(write_end, repr(exc).encode()[:200])
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 256) == b"ok"
    os.close(read_end)
    assert loopback.fake.hits["/api/auth/start"] == 2
    platform.get_account(LOGIN)  # the parent's session is untouched
    assert loopback.fake.hits["/api/auth/start"] == 2


@pytest.fixture
def tls_loopback(tmp_path: Path) -> Iterator[tuple[LoopbackServer, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert made.returncode == 0, f"openssl could not make a test certificate: {made.stderr!r}"
    webapi.close_all_sessions()
    fake = FakeWebApi()
    fake.add_user(LOGIN, balance="100.00")
    server = LoopbackServer(fake)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.url = server.url.replace("http://", "https://")
    yield server, cert
    webapi.close_all_sessions()
    server.stop()


def test_tls_with_a_self_signed_certificate(tls_loopback: tuple[LoopbackServer, Path]) -> None:
    server, cert = tls_loopback
    kwargs = {"clock": CLOCK, "timeout": 2.0}
    strict = WebApiPlatform(server.url, MANAGER_LOGIN, MANAGER_PASSWORD, verify=True, **kwargs)
    with pytest.raises(AuthFailed, match="TLS certificate not trusted"):
        strict.ping()
    strict.close()
    pinned = WebApiPlatform(server.url, MANAGER_LOGIN, MANAGER_PASSWORD, verify=str(cert), **kwargs)
    assert pinned.get_account(LOGIN).login == LOGIN
    pinned.close()
    unverified = WebApiPlatform(server.url, MANAGER_LOGIN, MANAGER_PASSWORD, verify=False, **kwargs)
    assert unverified.get_account(LOGIN).login == LOGIN
