"""Reads for the deposit pages, each already scoped to who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from wallets.payments.models import Deposit, PaymentEvent, PaymentMethod
from wallets.payments.services import method_available


def methods_for_client(*, client: Client) -> list[PaymentMethod]:
    """The methods a client may pick: enabled, with their provider configured."""
    return [m for m in PaymentMethod.objects.filter(deposits_enabled=True) if method_available(m)]


def deposit_get_for_user(*, user: User, pk: int) -> Deposit:
    """The signed-in client's own deposit; 404 for anyone else's, so a guess learns nothing."""
    client = getattr(user, "client", None)
    if client is None:
        raise Http404
    return get_object_or_404(Deposit.objects.select_related("method"), pk=pk, client=client)


def deposit_list_for_client(*, client: Client) -> QuerySet[Deposit]:
    return Deposit.objects.filter(client=client).select_related("method")


@dataclass(frozen=True)
class DepositFilters:
    status: str = ""
    provider: str = ""
    client: str = ""  # name, e-mail or #id
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    start: date | None = None
    end: date | None = None  # inclusive


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def deposit_list(*, filters: DepositFilters) -> QuerySet[Deposit]:
    deposits = Deposit.objects.select_related("client__user", "method").order_by("-created_at")
    if filters.status:
        deposits = deposits.filter(status=filters.status)
    if filters.provider:
        deposits = deposits.filter(provider=filters.provider)
    search = filters.client.strip()
    if search:
        if search.lstrip("#").isdigit():
            deposits = deposits.filter(client_id=int(search.lstrip("#")))
        else:
            deposits = deposits.filter(
                Q(client__user__email__icontains=search)
                | Q(client__user__first_name__icontains=search)
                | Q(client__user__last_name__icontains=search)
            )
    if filters.min_amount is not None:
        deposits = deposits.filter(amount__gte=filters.min_amount)
    if filters.max_amount is not None:
        deposits = deposits.filter(amount__lte=filters.max_amount)
    if filters.start:
        deposits = deposits.filter(created_at__gte=_day_start(filters.start))
    if filters.end:
        deposits = deposits.filter(created_at__lt=_day_start(filters.end + timedelta(days=1)))
    return deposits


def deposit_get(*, pk: int) -> Deposit:
    return get_object_or_404(Deposit.objects.select_related("client__user", "method"), pk=pk)


def deposit_events(*, deposit: Deposit) -> QuerySet[PaymentEvent]:
    return PaymentEvent.objects.filter(deposit=deposit).order_by("received_at", "id")


def method_list() -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.all()


def method_get(*, pk: int) -> PaymentMethod:
    return get_object_or_404(PaymentMethod, pk=pk)


@dataclass(frozen=True)
class Headline:
    credited_today: list[tuple[str, Decimal, int]]  # currency, amount, count
    open_count: int
    oldest_open: datetime | None
    failed_today: int
    reversed_30d: int


def payments_headline() -> Headline:
    now = timezone.now()
    today = _day_start(timezone.localdate())
    credited = (
        Deposit.objects.filter(status=Deposit.Status.SUCCEEDED, credited_at__gte=today)
        .values("currency")
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by("currency")
    )
    open_deposits = Deposit.objects.filter(status__in=["created", "pending"])
    oldest = open_deposits.order_by("created_at").values_list("created_at", flat=True).first()
    return Headline(
        credited_today=[(r["currency"], r["total"], r["n"]) for r in credited],
        open_count=open_deposits.count(),
        oldest_open=oldest,
        failed_today=Deposit.objects.filter(
            status__in=["failed", "expired"], updated_at__gte=today
        ).count(),
        reversed_30d=Deposit.objects.filter(
            status__in=["refunded", "charged_back"], updated_at__gte=now - timedelta(days=30)
        ).count(),
    )
