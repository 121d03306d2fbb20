"""Trading-server sync on the `platform` queue: thin tasks, ids in, services out."""

from __future__ import annotations

import importlib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from clients.models import TradingServer


@shared_task(name="clients.tasks.sync_deals", ignore_result=True)
def sync_deals() -> int:
    """Every enabled server, one incremental deal sync (skipped while a server backs off)."""
    from clients.sync import deals_sync

    done = 0
    for server in TradingServer.objects.filter(enabled=True):
        done += deals_sync(server=server) is not None
    return done


@shared_task(name="clients.tasks.refresh_state", ignore_result=True)
def refresh_state() -> int:
    from clients.sync import backoff_until, state_refresh

    done = 0
    for server in TradingServer.objects.filter(enabled=True):
        wait = backoff_until(server=server)
        if wait is None or wait <= timezone.now():
            state_refresh(server=server)
            done += 1
    return done


@shared_task(name="clients.tasks.rescan_recent", ignore_result=True)
def rescan_recent() -> int:
    """Nightly: the trailing days again, so dealer edits and cancels reach our copy."""
    from clients.sync import deals_rescan

    until = timezone.now() + timedelta(minutes=5)
    since = until - timedelta(days=settings.DEAL_RESCAN_DAYS)
    for server in TradingServer.objects.filter(enabled=True):
        deals_rescan(server=server, since=since, until=until)
    return TradingServer.objects.filter(enabled=True).count()


@shared_task(name="clients.tasks.rescan_range", ignore_result=True)
def rescan_range(server_id: int, since_iso: str, until_iso: str) -> int:
    from datetime import datetime

    from clients.sync import deals_rescan

    server = TradingServer.objects.get(pk=server_id)
    run = deals_rescan(
        server=server,
        since=datetime.fromisoformat(since_iso),
        until=datetime.fromisoformat(until_iso),
    )
    return run.deals_written


@shared_task(name="clients.tasks.closing_deals_ready", ignore_result=True)
def closing_deals_ready(server_id: int, tickets: list[int]) -> None:
    """Hand new closing deals to each consumer in settings.DEAL_CONSUMERS ("module.function",
    called with server_id= and tickets=): the commission run, the risk rules."""
    for path in settings.DEAL_CONSUMERS:
        module, _, name = path.rpartition(".")
        getattr(importlib.import_module(module), name)(server_id=server_id, tickets=tickets)


@shared_task(name="clients.tasks.resolve_balance_ops", ignore_result=True)
def resolve_balance_ops() -> int:
    """Demo fundings left pending or unknown (a lost reply, a busy server) for over a minute:
    looked up on the server first, sent only if absent. Transfers have their own resolver,
    which settles the ledger too; this one only takes operations on demo accounts."""
    from clients.models import BalanceOperation
    from clients.trading_services import balance_operation_send

    cutoff = timezone.now() - timedelta(minutes=1)
    ops = BalanceOperation.objects.filter(
        account__is_live=False,
        status__in=[BalanceOperation.Status.PENDING, BalanceOperation.Status.UNKNOWN],
        created_at__lt=cutoff,
    )[:200]
    done = 0
    for op in ops:
        done += balance_operation_send(op=op).status == BalanceOperation.Status.DONE
    return done
