"""payments.webhook_credit: credited deposits per second, end to end through the real
webhook view: signed demo-provider callbacks over HTTP to a gunicorn (as in the Procfile),
each one verified, stored as a PaymentEvent and credited through the ledger in one short
transaction. Baseline: a Django view in the same server that only verifies the same signed
bodies (bench/urls.py), in the same run. With 1 and 8 concurrent senders.

The data lives in a database of its own, ``bench_payments`` (created, migrated, dropped
afterwards), so the developer's ledger never holds the benchmark's postings: 64 verified
clients, a demo card method, and one pending Deposit per webhook to send (bulk-created: the
benchmark times the webhook, not deposit_create). Rounds alternate baseline and target; the
median of each is kept. Afterwards every deposit sent must be credited exactly once.
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import threading
import time
from decimal import Decimal
from typing import Any

from bench import line
from bench.urls import DEMO_VERIFY_PATH

DB_NAME = "bench_payments"
CLIENTS = 64
SENDERS = (1, 8)
# Webhooks per measurement for each concurrency, and measurements of each, alternated.
COUNT = {1: int(os.environ.get("BENCH_PAYMENTS_COUNT_1", "400")),
         8: int(os.environ.get("BENCH_PAYMENTS_COUNT_8", "1200"))}  # fmt: skip
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WEBHOOK_PATH = "/webhooks/demo-pay/"
TARGET_RATIO = 0.3


def log(text: str) -> None:
    print(f"bench.payments: {text}", file=sys.stderr, flush=True)


def _setup() -> tuple[Any, list[Any]]:
    from django.contrib.auth.hashers import make_password

    from brokerage.models import User
    from clients.models import Client
    from kyc.models import KycCase

    UNUSABLE = make_password(None)  # noqa: N806
    from wallets.payments.models import PaymentMethod

    users = User.objects.bulk_create(
        [
            User(
                email=f"payer-{i}@bench.invalid",
                first_name="Bench",
                last_name=f"Payer {i}",
                password=UNUSABLE,
            )
            for i in range(CLIENTS)
        ]  # fmt: skip
    )
    clients = Client.objects.bulk_create([Client(user=u, country="GB") for u in users])
    KycCase.objects.bulk_create([KycCase(client=c, level=2, state="approved") for c in clients])
    method = PaymentMethod.objects.create(
        code="bench-card", name="Card (bench)", provider="demo", currencies=["USD"],
        fee_fixed=Decimal("0.30"), fee_percent=Decimal("2.5"), max_amount=Decimal("100000"),
    )  # fmt: skip
    # A client's first deposit opens their wallet (the general path); the benchmark measures
    # the steady state, where the accounts exist.
    from wallets.ledger.services import house_account, wallet_for_client

    house_account(kind="psp_clearing", currency="USD", label="demo")
    house_account(kind="fee_income", currency="USD")
    for client in clients:
        wallet_for_client(client=client, currency="USD")
    return method, clients


def _deposits(method: Any, clients: list[Any], count: int, tag: str) -> list[Any]:
    from wallets.payments.models import Deposit
    from wallets.payments.services import deposit_fee

    deposits = []
    for i in range(count):
        amount = Decimal(100 + i % 900)
        deposits.append(
            Deposit(
                client=clients[i % len(clients)],
                method=method,
                provider="demo",
                amount=amount,
                currency="USD",
                fee=deposit_fee(method=method, amount=amount, currency="USD"),
                status=Deposit.Status.PENDING,
                provider_ref=f"dp_bench_{tag}_{i}",
            )
        )
    return Deposit.objects.bulk_create(deposits)


def _signed(deposits: list[Any]) -> list[tuple[bytes, dict[str, str]]]:
    from wallets.payments.providers.base import EventKind
    from wallets.payments.providers.demo import demo_callback

    return [demo_callback(deposit=d, kind=EventKind.SUCCEEDED) for d in deposits]


def _send(port: int, path: str, bodies: list[tuple[bytes, dict[str, str]]], senders: int) -> float:
    """POST every body once, from `senders` keep-alive connections; returns bodies/s."""
    failures: list[str] = []
    cursor = iter(range(len(bodies)))
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    return
                body, headers = bodies[i]
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status != 200 or b'"duplicate": true' in answer:
                    failures.append(f"{response.status} {answer[:200]!r}")
                    return
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        except OSError as error:
            failures.append(repr(error))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if failures:
        raise RuntimeError(f"{path}: {len(failures)} failed, e.g. {failures[0]}")
    return len(bodies) / elapsed


def _check(sent: list[Any]) -> None:
    from wallets.ledger.selectors import ledger_violations
    from wallets.models import Journal
    from wallets.payments.models import Deposit, PaymentEvent

    ids = [d.pk for d in sent]
    credited = Deposit.objects.filter(pk__in=ids, status=Deposit.Status.SUCCEEDED).count()
    journals = Journal.objects.filter(source="payments").count()
    events = PaymentEvent.objects.filter(deposit_id__in=ids).count()
    if not credited == journals == events == len(ids):
        raise RuntimeError(
            f"sent {len(ids)}: {credited} credited, {journals} journals, {events} events"
        )
    violations = ledger_violations()
    if violations:
        raise RuntimeError(f"ledger invariants broken: {violations}")
    log(f"checked: {len(ids):,} deposits credited once each, ledger sound")


def run() -> list[dict]:
    from django.conf import settings

    from bench.ledger import _ledger_database
    from bench.web import Gunicorn
    from brokerage.paths import VAR_DIR

    original = settings.DATABASES["default"]["NAME"]
    load_before = os.getloadavg()[0]
    results: dict[int, tuple[list[float], list[float]]] = {n: ([], []) for n in SENDERS}
    with _ledger_database(original, DB_NAME):
        method, clients = _setup()
        batches = {
            (n, r): _deposits(method, clients, COUNT[n], f"{n}_{r}")
            for n in SENDERS
            for r in range(ROUNDS + 1)  # round 0 warms up
        }
        sent: list[Any] = []
        env = {
            "BENCH_DB_NAME": DB_NAME,
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            server_cm = Gunicorn(VAR_DIR / "bench" / "gunicorn-payments.log")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        with server_cm as server:
            server.wait_ready(("bench", "none"))
            for r in range(ROUNDS + 1):
                for n in SENDERS:
                    bodies = _signed(batches[(n, r)])
                    base = _send(server.port, DEMO_VERIFY_PATH, bodies, n)
                    target = _send(server.port, WEBHOOK_PATH, bodies, n)
                    sent.extend(batches[(n, r)])
                    if r == 0:
                        log(f"warm-up x{n}: verify {base:.0f}/s, credit {target:.0f}/s")
                        continue
                    results[n][0].append(base)
                    results[n][1].append(target)
                    log(f"round {r}/{ROUNDS} x{n}: verify-only {base:.0f}/s, "
                        f"credited {target:.0f}/s ({target / base:.2f})")  # fmt: skip
        _check(sent)

    host = f"{os.cpu_count()} CPUs, 1-min load average {load_before:.1f} at the start"
    baseline = f"Django view that only verifies the demo webhook's signature ({DEMO_VERIFY_PATH}), same gunicorn"
    lines = []
    for n, name in ((8, "payments.webhook_credit"), (1, "payments.webhook_credit_serial")):
        base, target = results[n]
        lines.append(
            line(
                name,
                value=statistics.median(target),
                unit="deposits/s",
                baseline=baseline,
                baseline_value=statistics.median(base),
                target_ratio=TARGET_RATIO,
                senders=n,
                tool=f"python http.client x{n}, {COUNT[n]} signed webhooks per measurement, "
                f"median of {ROUNDS}",
                server="gunicorn -w2 --threads 4",
                host=host,
            )
        )
    return lines
