"""Deal ingest from a trading server: the bundled MT5 simulator (a separate process, over
HTTP) holds BENCH_MT5_DEALS closed-trade deals (200,000) spread over 20 days and 200 logins;
the CRM's deal sync reads them through the Web API client and stores them in PostgreSQL.

Figures:
- ``mt5.deal_ingest``: deals/s of the first sync (HTTP, parsing, COPY and upsert, cursor,
  one transaction per day). Baseline, same run and database: a PostgreSQL ``COPY`` of the
  same rows into a plain table with the same columns (no HTTP, no parsing, no indexes).
- ``mt5.resync``: the same sync run again right after (from its cursor, less the overlap
  window). It must write nothing; the value is its time, the baseline the first run's.

Everything runs in a database of its own (``bench_mt5``), dropped afterwards; the simulator
is started on a free loopback port and stopped at the end. BENCH_MT5_DEALS shortens a run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import line

DEALS = int(os.environ.get("BENCH_MT5_DEALS", "200000"))
LOGINS = 200
DAYS = 20
DB = "bench_mt5"


def log(text: str) -> None:
    print(f"bench.mt5: {text}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin(url: str, path: str, body: dict[str, Any], timeout: float = 600) -> Any:
    request = urllib.request.Request(  # noqa: S310 (our simulator, on loopback)
        url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 (loopback)
        return json.loads(reply.read() or b"null")


def _wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError("the simulator exited at start-up")
        try:
            urllib.request.urlopen(url + "/__sim__/state", timeout=1).read()  # noqa: S310
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the simulator did not start")


def _copy_baseline(server_id: int) -> float:
    """Seconds to COPY the stored rows (read back first, untimed) into a plain table."""
    from django.db import connection

    from clients.deal_store import COLUMNS

    quoted = ", ".join(f'"{c}"' for c in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quoted} FROM clients_deal WHERE server_id = %s",  # noqa: S608
            [server_id],
        )
        rows = cursor.fetchall()
        now = datetime.now(UTC)
        cursor.execute("CREATE TABLE bench_copy AS SELECT * FROM clients_deal WITH NO DATA")
        began = time.perf_counter()
        with cursor.cursor.copy(
            f"COPY bench_copy ({quoted}, server_id, synced_at) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row((*row, server_id, now))
        elapsed = time.perf_counter() - began
        cursor.execute("DROP TABLE bench_copy")
    return elapsed


def run() -> list[dict]:
    from django.conf import settings

    from bench.ledger import _ledger_database
    from mt5sim import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD, utc_datetime_to_server

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(  # noqa: S603 (our own module)
        [
            sys.executable,
            "-m",
            "mt5sim",
            "--port",
            str(port),
            "--traders",
            str(LOGINS),
            "--tick",
            "0",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(url, sim)
        now = datetime.now(UTC)
        began = time.monotonic()
        created = _admin(
            url,
            "/__sim__/generate_deals",
            {
                "count": DEALS,
                "from": utc_datetime_to_server(now - timedelta(days=DAYS)),
                "to": utc_datetime_to_server(now - timedelta(minutes=10)),
            },
        )
        log(f"simulator made {created['count']:,} deals ({time.monotonic() - began:.1f}s)")
        with _ledger_database(settings.DATABASES["default"]["NAME"], DB):
            return _measure(url, DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD)
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()


def _measure(url: str, manager: int, password: str) -> list[dict]:
    from brokerage.secrets_box import seal
    from clients.models import Deal, TradingServer
    from clients.platforms.webapi import close_all_sessions
    from clients.sync import deals_sync

    server = TradingServer.objects.create(
        name="bench", url=url, manager_login=manager, password_sealed=seal(password)
    )
    try:
        began = time.perf_counter()
        first = deals_sync(server=server, first_days=DAYS + 1, force=True)
        first_s = time.perf_counter() - began
        assert first is not None and first.ok, first and first.error
        stored = Deal.objects.filter(server=server).count()
        log(f"first sync: {stored:,} deals in {first_s:.1f}s ({stored / first_s:,.0f}/s)")
        copy_s = _copy_baseline(server.pk)
        log(f"COPY of the same rows: {copy_s:.2f}s ({stored / copy_s:,.0f}/s)")
        # The same sync again: from its cursor (less the overlap) to now.
        began = time.perf_counter()
        again = deals_sync(server=server, force=True)
        again_s = time.perf_counter() - began
        assert again is not None and again.ok and again.deals_written == 0, again
        log(f"the same sync again: {again_s:.2f}s, {again.deals_written} written")
    finally:
        close_all_sessions()
    tool = f"clients.sync.deals_sync over HTTP from mt5sim (separate process), {stored:,} deals"
    return [
        line(
            "mt5.deal_ingest",
            value=stored / first_s,
            unit="deals/s",
            baseline="PostgreSQL COPY of the same rows into a table like clients_deal, same run",
            baseline_value=stored / copy_s,
            target_ratio=0.3,
            target_value=10_000,
            tool=tool,
        ),
        line(
            "mt5.resync",
            value=again_s,
            unit="s",
            baseline="the first sync of the same window, same run",
            baseline_value=first_s,
            target_ratio=0.2,
            written_again=again.deals_written,
            tool=tool,
        ),
    ]
