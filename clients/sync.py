"""Keeping our copy of each trading server: deals (incremental, with a cursor), positions and
account states, and a nightly re-scan that catches dealer edits.

Each call records a SyncRun (the health page reads them). A failing server backs off
(1, 2, 4 ... up to 60 minutes between attempts) instead of hammering it; an error never
advances the cursor. New closing deals go to the consumers named in
settings.DEAL_CONSUMERS (commissions, risk) through a task, after the transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from brokerage.secrets_box import unseal
from clients.deal_store import deal_records_prepare, deal_records_store, deals_store
from clients.models import (
    AccountSnapshot,
    Position,
    SyncCursor,
    SyncRun,
    TradingAccount,
    TradingServer,
)

log = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=120)  # re-read the cursor's last two minutes: late-arriving deals
CHUNK = timedelta(days=1)  # committed one day at a time: a long backfill keeps its progress
LOGIN_BATCH = 100
ALL_GROUPS = "*"


def platform_for_server(server: TradingServer) -> Any:
    from clients.platforms.registry import platform_for

    return platform_for(
        server.platform,
        url=server.url,
        login=server.manager_login,
        password=unseal(server.password_sealed),
        verify=server.verify_tls,
        zone=server.clock_zone,
        shift_hours=server.clock_shift_hours,
    )


def _clock(server: TradingServer) -> Any:
    from clients.platforms.clock import ServerClock

    return ServerClock(zone=server.clock_zone, shift_hours=server.clock_shift_hours)


def backoff_until(*, server: TradingServer) -> datetime | None:
    """After N failed runs in a row, wait 2^(N-1) minutes (at most an hour) before the next."""
    failures = 0
    last_failure: datetime | None = None
    for run in SyncRun.objects.filter(server=server, finished_at__isnull=False).order_by(
        "-started_at"
    )[:8]:
        if run.ok:
            break
        failures += 1
        last_failure = last_failure or run.started_at
    if not failures or last_failure is None:
        return None
    return last_failure + timedelta(minutes=min(2 ** (failures - 1), 60))


@dataclass
class _Totals:
    seen: int = 0
    written: int = 0


def _record_failure(run: SyncRun, exc: Exception) -> None:
    run.ok = False
    run.error = f"{type(exc).__name__}: {exc}"[:2000]
    raw = getattr(exc, "raw", None)
    run.raw_response = "" if raw is None else str(raw)[:20000]
    log.warning("sync of %s failed: %s", run.server, run.error)


def _hand_over(server_id: int, tickets: Sequence[int]) -> None:
    if not tickets or not getattr(settings, "DEAL_CONSUMERS", None):
        return
    from clients.tasks import closing_deals_ready

    ids = list(tickets)
    transaction.on_commit(
        lambda: closing_deals_ready.apply_async(args=[server_id, ids], queue="platform")
    )


def deals_sync(
    *,
    server: TradingServer,
    platform: Any = None,
    selector: str = ALL_GROUPS,
    first_days: int | None = None,
    force: bool = False,
) -> SyncRun | None:
    """One incremental sync: from the cursor (less an overlap) to the server's now."""
    if not force and (wait := backoff_until(server=server)) and wait > timezone.now():
        return None
    run = SyncRun.objects.create(server=server, kind=SyncRun.Kind.DEALS, started_at=timezone.now())
    totals = _Totals()
    try:
        platform = platform or platform_for_server(server)
        cursor, _ = SyncCursor.objects.get_or_create(server=server, selector=selector)
        server_now = platform.server_time().utc
        if cursor.last_time_msc:
            since = _clock(server).to_utc_ms(cursor.last_time_msc) - OVERLAP
        else:
            days = first_days if first_days is not None else settings.DEAL_SYNC_FIRST_DAYS
            since = server_now - timedelta(days=days)
        _sync_window(
            server=server,
            platform=platform,
            selector=selector,
            since=since,
            until=server_now + timedelta(seconds=60),
            cursor=cursor,
            totals=totals,
        )
        run.ok = True
    except Exception as exc:  # noqa: BLE001 (recorded on the run, shown on the health page)
        _record_failure(run, exc)
    run.deals_seen, run.deals_written = totals.seen, totals.written
    run.finished_at = timezone.now()
    run.save()
    return run


def _sync_window(
    *,
    server: TradingServer,
    platform: Any,
    selector: str,
    since: datetime,
    until: datetime,
    cursor: SyncCursor | None,
    totals: _Totals,
) -> None:
    from clients.platforms.base import Selector

    # A platform that can hand over its records as they came has them converted by
    # PostgreSQL (clients.deal_store.deal_records_store); any other gives us Deal objects.
    raw = hasattr(platform, "fetch_deal_records")

    def fetch(selector: Any, start: datetime, end: datetime) -> Any:
        if raw:  # COPY text made here, in the reader thread, while PostgreSQL works
            return deal_records_prepare(platform.fetch_deal_records(selector, start, end))
        return platform.fetch_deals(selector, start, end)

    windows = []
    start = since
    while start < until:
        windows.append((start, min(start + CHUNK, until)))
        start = windows[-1][1]
    # The next day is read from the server while this one is stored: the wait for the
    # server's reply and our parsing overlap PostgreSQL's work (one reader thread; the
    # platform session is used by it alone meanwhile).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="deal-fetch") as reader:
        pending = None
        for index, (start, end) in enumerate(windows):
            if pending is None:
                pending = reader.submit(fetch, Selector.for_group(selector), start, end)
            deals = pending.result()
            pending = None
            if index + 1 < len(windows):
                following = windows[index + 1]
                pending = reader.submit(fetch, Selector.for_group(selector), *following)
            with transaction.atomic():
                if raw:
                    result = deal_records_store(
                        server_id=server.pk,
                        prepared=deals,
                        zone=server.clock_zone,
                        shift_hours=server.clock_shift_hours,
                    )
                    last = deals.last
                else:
                    result = deals_store(server_id=server.pk, deals=deals)
                    last = max(((d.time_msc, d.ticket) for d in deals), default=None)
                if (
                    cursor is not None
                    and last is not None
                    and last > (cursor.last_time_msc, cursor.last_ticket)
                ):
                    cursor.last_time_msc, cursor.last_ticket = last
                    cursor.save()
                _hand_over(server.pk, result.new_closing)
            totals.seen += result.seen
            totals.written += result.inserted + result.updated


def deals_rescan(
    *,
    server: TradingServer,
    since: datetime,
    until: datetime,
    platform: Any = None,
) -> SyncRun:
    """Read a past range again (nightly for the trailing days, or a staff "re-sync range"):
    dealer edits and cancels are written over our copy; the cursor stays where it is."""
    run = SyncRun.objects.create(server=server, kind=SyncRun.Kind.RESCAN, started_at=timezone.now())
    totals = _Totals()
    try:
        _sync_window(
            server=server,
            platform=platform or platform_for_server(server),
            selector=ALL_GROUPS,
            since=since,
            until=until,
            cursor=None,
            totals=totals,
        )
        run.ok = True
    except Exception as exc:  # noqa: BLE001
        _record_failure(run, exc)
    run.deals_seen, run.deals_written = totals.seen, totals.written
    run.finished_at = timezone.now()
    run.save()
    return run


def _batches(logins: Sequence[int], size: int = LOGIN_BATCH) -> Iterable[Sequence[int]]:
    for i in range(0, len(logins), size):
        yield logins[i : i + size]


def state_refresh(*, server: TradingServer, platform: Any = None) -> SyncRun:
    """Positions of our accounts (replaced as a whole) and a snapshot of each account."""
    from clients.platforms.base import Selector

    run = SyncRun.objects.create(server=server, kind=SyncRun.Kind.STATE, started_at=timezone.now())
    try:
        platform = platform or platform_for_server(server)
        accounts = list(
            TradingAccount.objects.filter(server=server, status=TradingAccount.Status.ACTIVE)
        )
        logins = [a.login for a in accounts]
        positions = []
        for batch in _batches(logins):
            positions += platform.list_positions(Selector.for_logins(batch))
        now = timezone.now()
        snapshots = []
        for account in accounts:
            state = platform.get_account_state(account.login)
            snapshots.append(
                AccountSnapshot(
                    account=account,
                    taken_at=now,
                    balance=state.balance,
                    credit=state.credit,
                    equity=state.equity,
                    margin=state.margin,
                    margin_free=state.margin_free,
                    margin_level=state.margin_level or None,
                    profit=state.profit,
                )
            )
        with transaction.atomic():
            Position.objects.filter(server=server, login__in=logins).delete()
            Position.objects.bulk_create(
                Position(
                    server=server,
                    ticket=p.ticket,
                    login=p.login,
                    symbol=p.symbol,
                    action=p.action,
                    volume_ext=p.volume_ext,
                    price_open=p.price_open,
                    price_current=p.price_current,
                    sl=p.sl,
                    tp=p.tp,
                    profit=p.profit,
                    swap=p.swap,
                    opened_at=p.time_create,
                    updated_at=p.time_update,
                    raw=getattr(p, "raw", {}),
                )
                for p in positions
            )
            AccountSnapshot.objects.bulk_create(snapshots)
        run.ok = True
        run.deals_seen = len(positions)
    except Exception as exc:  # noqa: BLE001
        _record_failure(run, exc)
    run.finished_at = timezone.now()
    run.save()
    return run
