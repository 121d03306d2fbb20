"""Reads of trading accounts and their deals, scoped to who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum
from django.http import Http404
from django.utils.timezone import now as django_now

from clients.models import (
    AccountSnapshot,
    Client,
    Deal,
    SyncRun,
    TradingAccount,
    TradingProduct,
    TradingServer,
)

# Deal actions a trader reads as trades, and the rest (balance, credit, charges...) by name.
ACTION_LABELS = {
    0: "Buy",
    1: "Sell",
    2: "Balance",
    3: "Credit",
    4: "Charge",
    5: "Correction",
    6: "Bonus",
    7: "Commission",
    8: "Daily commission",
    9: "Monthly commission",
    10: "Agent daily",
    11: "Agent monthly",
    12: "Interest",
    13: "Buy canceled",
    14: "Sell canceled",
    15: "Dividend",
    16: "Franked dividend",
    17: "Tax",
    18: "Agent",
    19: "SO compensation",
    20: "SO compensation credit",
}
ENTRY_LABELS = {0: "in", 1: "out", 2: "in/out", 3: "out by"}


@dataclass(frozen=True)
class AccountCard:
    account: TradingAccount
    snapshot: AccountSnapshot | None


def accounts_for_client(*, client: Client) -> list[AccountCard]:
    """The client's accounts, each with its latest snapshot (two queries, whatever the count:
    snapshots accumulate every minute, so they are never loaded whole)."""
    latest = AccountSnapshot.objects.filter(account=OuterRef("pk")).order_by("-taken_at")
    accounts = list(
        TradingAccount.objects.filter(client=client)
        .select_related("server")
        .annotate(latest_snapshot=Subquery(latest.values("pk")[:1]))
        .order_by("-is_live", "login")
    )
    snapshots = AccountSnapshot.objects.in_bulk(
        [a.latest_snapshot for a in accounts if a.latest_snapshot]  # type: ignore[attr-defined]
    )
    return [
        AccountCard(account=a, snapshot=snapshots.get(a.latest_snapshot))  # type: ignore[attr-defined]
        for a in accounts
    ]


def account_for_client(*, client: Client, pk: int) -> TradingAccount:
    try:
        return TradingAccount.objects.select_related("server").get(pk=pk, client=client)
    except TradingAccount.DoesNotExist:
        raise Http404 from None


def deal_history(
    *,
    account: TradingAccount,
    since: date | None = None,
    until: date | None = None,
    symbol: str = "",
) -> QuerySet[Deal]:
    deals = Deal.objects.filter(server_id=account.server_id, login=account.login)
    if since:
        deals = deals.filter(time__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
        deals = deals.filter(time__lt=end)
    if symbol:
        deals = deals.filter(symbol=symbol.upper())
    return deals.order_by("-time", "-ticket")


def deal_symbols(*, account: TradingAccount) -> list[str]:
    return sorted(
        Deal.objects.filter(server_id=account.server_id, login=account.login)
        .exclude(symbol="")
        .values_list("symbol", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class ServerHealth:
    server: TradingServer
    last_ok: datetime | None
    last_error: str
    last_error_at: datetime | None
    failures_in_a_row: int
    backoff_until: datetime | None
    newest_deal: datetime | None
    lag_seconds: int | None  # now - last successful deal sync
    deals_per_minute: float  # written, averaged over the last hour
    deals_stored: int


def server_health(*, now: datetime | None = None) -> list[ServerHealth]:
    from clients.sync import backoff_until

    now = now or django_now()
    result = []
    for server in TradingServer.objects.order_by("name"):
        runs = SyncRun.objects.filter(server=server)
        last_ok = (
            runs.filter(ok=True, kind=SyncRun.Kind.DEALS)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        failed = runs.filter(ok=False, finished_at__isnull=False).order_by("-started_at").first()
        recent = list(runs.order_by("-started_at").values_list("ok", flat=True)[:8])
        in_a_row = 0
        for ok in recent:
            if ok:
                break
            in_a_row += 1
        written = (
            runs.filter(started_at__gte=now - timedelta(hours=1)).aggregate(n=Sum("deals_written"))[
                "n"
            ]
            or 0
        )
        deals = Deal.objects.filter(server=server)
        result.append(
            ServerHealth(
                server=server,
                last_ok=last_ok,
                last_error=failed.error if failed and in_a_row else "",
                last_error_at=failed.started_at if failed else None,
                failures_in_a_row=in_a_row,
                backoff_until=backoff_until(server=server),
                newest_deal=deals.aggregate(t=Max("time"))["t"],
                lag_seconds=int((now - last_ok).total_seconds()) if last_ok else None,
                deals_per_minute=round(written / 60, 1),
                deals_stored=deals.count(),
            )
        )
    return result


def deals_written_chart(*, now: datetime | None = None, buckets: int = 12) -> dict[str, object]:
    """Deals stored per 10 minutes over the last two hours, all servers."""
    now = now or django_now()
    start = now - timedelta(minutes=10 * buckets)
    counts = [0] * buckets
    for started, written in SyncRun.objects.filter(started_at__gte=start).values_list(
        "started_at", "deals_written"
    ):
        index = min(int((started - start).total_seconds() // 600), buckets - 1)
        counts[index] += written
    return {
        "title": "Deals stored per 10 minutes (last 2 hours)",
        "labels": [(start + timedelta(minutes=10 * i)).strftime("%H:%M") for i in range(buckets)],
        "values": counts,
        "unit": "deals",
    }


@dataclass(frozen=True)
class ProductOffer:
    product: TradingProduct
    verdict: Any  # kyc.policy.Verdict: may this client open it now, and if not, why


def product_offers(*, client: Client) -> list[ProductOffer]:
    """The enabled products, each with the KYC answer for this client."""
    from kyc.policy import kyc_may

    products = TradingProduct.objects.filter(enabled=True).select_related("server")
    verdicts: dict[bool, Any] = {}
    offers = []
    for product in products:
        live = product.server.is_live
        if live not in verdicts:
            action = "open_live_account" if live else "open_demo_account"
            verdicts[live] = kyc_may(client=client, action=action)
        offers.append(ProductOffer(product=product, verdict=verdicts[live]))
    return offers


def product_list() -> QuerySet[TradingProduct]:
    return TradingProduct.objects.select_related("server").annotate(account_count=Count("accounts"))
