"""A worker killed mid-load (SIGKILL, no cleanup): every posting it acknowledged survives, and
whatever it was in the middle of left no trace that breaks an invariant."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.conf import settings

from tests.factories import ClientFactory
from tests.integration.conftest import database_url
from wallets.ledger.selectors import ledger_violations
from wallets.ledger.services import house_account, wallet_for_client
from wallets.models import Journal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Runs in the child. Prints "<journal id> <key>" once each posting has committed: the
# acknowledgement a caller would act on.
WORKER = """
import sys
from decimal import Decimal

import django

django.setup()

from wallets.ledger.services import (
    Leg, ledger_hold, ledger_post_pending, ledger_transfer, ledger_void_pending,
)
from wallets.models import LedgerAccount

clearing, transit, a, b = (LedgerAccount.objects.get(pk=int(i)) for i in sys.argv[1:5])
prefix = sys.argv[5]
one, two = Decimal("1.00"), Decimal("2.00")
hold = None
n = 0
while True:
    n += 1
    key = f"{prefix}:{n}"
    step = n % 5
    if step in (0, 1):
        posting = ledger_transfer(
            source="crash", key=key, legs=[Leg(clearing, "D", two), Leg(a, "C", two)]
        )
    elif step == 2:
        posting = ledger_transfer(
            source="crash", key=key, legs=[Leg(a, "D", one), Leg(b, "C", one)]
        )
    elif step == 3:
        posting = ledger_hold(source="crash", key=key, debit=a, credit=transit, amount=one)
        hold = posting.journal_id
    elif n % 2:
        posting = ledger_post_pending(source="crash", key=key, hold_id=hold)
    else:
        posting = ledger_void_pending(source="crash", key=key, hold_id=hold)
    print(posting.journal_id, key, flush=True)
"""


def test_every_acknowledged_posting_survives_a_killed_worker():
    # Committed before the worker starts (this test runs outside a transaction).
    accounts = [
        house_account(kind="psp_clearing", currency="USD", label="crash"),
        house_account(kind="withdrawals_in_transit", currency="USD"),
        wallet_for_client(client=ClientFactory(), currency="USD"),
        wallet_for_client(client=ClientFactory(), currency="USD"),
    ]
    prefix = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="brokerage.settings.dev",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        BROKERAGE_EMBEDDED_STOP_AT_EXIT="0",
        PYTHONUNBUFFERED="1",
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, *(str(a.pk) for a in accounts), prefix],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    first_ack = threading.Event()

    def read() -> None:
        for line in worker.stdout:
            lines.append(line)
            first_ack.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first_ack.wait(timeout=60), worker.stderr.read() if worker.poll() else "no ack"
        time.sleep(2)  # under load
        assert worker.poll() is None, worker.stderr.read()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        reader.join(timeout=30)
        stderr = worker.stderr.read()
        worker.stderr.close()
        worker.stdout.close()

    acknowledged = {}
    for line in lines:
        if line.endswith("\n"):  # a line cut by the kill was never acknowledged
            journal_id, key = line.split()
            acknowledged[key] = int(journal_id)
    assert len(acknowledged) > 20, stderr
    stored = dict(
        Journal.objects.filter(source="crash", idempotency_key__in=acknowledged).values_list(
            "idempotency_key", "pk"
        )
    )
    assert stored == acknowledged
    # At most the one posting in flight committed without its acknowledgement.
    assert Journal.objects.filter(source="crash").count() - len(acknowledged) in (0, 1)
    assert ledger_violations() == {}
