"""Reads for withdrawals: what a client may withdraw (balance, daily limit, closed loop), the
client's own list, and the back-office queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from wallets.ledger.selectors import client_wallets
from wallets.models import FxRate
from wallets.payments.models import Deposit, PaymentMethod
from wallets.selectors import adjustment_approvers
from wallets.withdrawals.models import Withdrawal

USD = "USD"


def to_currency(amount: Decimal, base: str, quote: str) -> Decimal | None:
    """`amount` of `base` in `quote` at the house rate; None without a rate."""
    if base == quote:
        return amount
    rate = FxRate.objects.filter(base_id=base, quote_id=quote).values_list("rate", flat=True)
    return amount * rate[0] if rate else None


# --- what a client may withdraw ----------------------------------------------------------------


@dataclass(frozen=True)
class DailyLimit:
    per_day: Decimal
    currency: str
    used: Decimal  # today's requested, approved and paid withdrawals, in `currency`

    @property
    def left(self) -> Decimal:
        return max(self.per_day - self.used, Decimal(0))


def _day_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)


def daily_limit(*, client: Client, level: int, now: datetime | None = None) -> DailyLimit:
    """The client's limit for today (a calendar day in the brokerage's time zone) and how much
    of it their withdrawals since midnight have used. Other currencies count at the house rate,
    one for one where there is none (the cautious side for a limit in a strong currency)."""
    limits: dict[int, dict[str, str]] = getattr(settings, "WITHDRAWAL_LIMITS", {})
    eligible = [k for k in limits if k <= level]
    if not eligible:
        return DailyLimit(per_day=Decimal(0), currency=USD, used=Decimal(0))
    rule = limits[max(eligible)]
    currency = str(rule.get("currency", USD))
    start = _day_start(now or timezone.now())
    rows = (
        Withdrawal.objects.filter(
            client=client, status__in=Withdrawal.COUNTED, requested_at__gte=start
        )
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    used = Decimal(0)
    for row in rows:
        converted = to_currency(row["total"], row["currency"], currency)
        used += row["total"] if converted is None else converted
    return DailyLimit(per_day=Decimal(str(rule["per_day"])), currency=currency, used=used)


@dataclass(frozen=True)
class ClosedLoopDue:
    method: PaymentMethod
    deposited: Decimal
    withdrawn: Decimal  # already sent back (or on its way) through this method

    @property
    def due(self) -> Decimal:
        return max(self.deposited - self.withdrawn, Decimal(0))


def closed_loop_dues(*, client: Client, currency: str) -> list[ClosedLoopDue]:
    """Per closed-loop method the client deposited through in `currency`: what came in
    (credited deposits; refunded and charged-back ones are no longer 'succeeded') and what
    has gone back through it (open and paid withdrawals). Only methods still owed anything."""
    deposited = dict(
        Deposit.objects.filter(
            client=client,
            currency=currency,
            status=Deposit.Status.SUCCEEDED,
            method__closed_loop=True,
        )
        .values("method_id")
        .annotate(total=Sum("amount"))
        .values_list("method_id", "total")
    )
    if not deposited:
        return []
    withdrawn = dict(
        Withdrawal.objects.filter(
            client=client,
            currency=currency,
            destination=Withdrawal.Destination.METHOD,
            method_id__in=list(deposited),
            status__in=Withdrawal.COUNTED,
        )
        .values("method_id")
        .annotate(total=Sum("amount"))
        .values_list("method_id", "total")
    )
    methods = PaymentMethod.objects.in_bulk(list(deposited))
    dues = [
        ClosedLoopDue(method=methods[pk], deposited=total, withdrawn=withdrawn.get(pk, Decimal(0)))
        for pk, total in deposited.items()
    ]
    return sorted(
        (d for d in dues if d.due > 0), key=lambda d: (d.method.sort_order, d.method.name)
    )


def closed_loop_dues_all(*, client: Client) -> list[tuple[str, ClosedLoopDue]]:
    """closed_loop_dues over every currency the client deposited in by a closed-loop method."""
    currencies = (
        Deposit.objects.filter(
            client=client, status=Deposit.Status.SUCCEEDED, method__closed_loop=True
        )
        .values_list("currency", flat=True)
        .distinct()
    )
    return [
        (currency, due)
        for currency in sorted(currencies)
        for due in closed_loop_dues(client=client, currency=currency)
    ]


def withdrawable_currencies(*, client: Client) -> list[tuple[str, Decimal]]:
    """The client's wallets with money available to withdraw: (currency, available)."""
    return [
        (account.currency_id, balance.available)
        for account, balance in client_wallets(client_id=client.pk)
        if balance.available > 0
    ]


def second_approval_needed(*, amount: Decimal, currency: str) -> bool:
    """Above the configured threshold (per currency, else converted to USD) two different
    people must approve. A currency without a threshold or a rate to USD: two, to be safe."""
    thresholds: dict[str, Decimal] = getattr(settings, "WITHDRAWAL_SECOND_APPROVAL_ABOVE", {})
    if currency in thresholds:
        return amount > Decimal(thresholds[currency])
    if USD not in thresholds:
        return True
    in_usd = to_currency(amount, currency, USD)
    return in_usd is None or in_usd > Decimal(thresholds[USD])


# --- the client's own withdrawals --------------------------------------------------------------


def withdrawal_list_for_client(*, client: Client) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(client=client).select_related("method")


def withdrawal_get_for_user(*, user: User, pk: int) -> Withdrawal:
    """The signed-in client's own withdrawal; 404 for anyone else's (no existence leak)."""
    client = getattr(user, "client", None)
    if client is None:
        raise Http404
    return get_object_or_404(withdrawal_list_for_client(client=client), pk=pk)


# --- the back-office queue ---------------------------------------------------------------------

PENDING = "pending"  # the queue's default filter: everything finance still has to act on


def withdrawal_queue(
    *,
    status: str = PENDING,
    client: str = "",
    currency: str = "",
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
) -> QuerySet[Withdrawal]:
    """Oldest first while pending (the one waiting longest is served first), newest first
    otherwise."""
    items = Withdrawal.objects.select_related("client__user", "method", "requested_by")
    if status == PENDING:
        items = items.filter(status__in=Withdrawal.OPEN).order_by("requested_at", "id")
    else:
        if status:
            items = items.filter(status=status)
        items = items.order_by("-requested_at", "-id")
    if client:
        text = client.strip().lstrip("#")
        if text.isdigit():
            items = items.filter(client_id=int(text))
        else:
            items = items.filter(
                Q(client__user__email__icontains=client)
                | Q(client__user__first_name__icontains=client)
                | Q(client__user__last_name__icontains=client)
            )
    if currency:
        items = items.filter(currency=currency)
    if amount_min is not None:
        items = items.filter(amount__gte=amount_min)
    if amount_max is not None:
        items = items.filter(amount__lte=amount_max)
    return items.prefetch_related("approvals__approver")


def withdrawal_get(*, pk: int) -> Withdrawal:
    return get_object_or_404(
        Withdrawal.objects.select_related("client__user", "method", "requested_by"), pk=pk
    )


def may_approve(*, withdrawal: Withdrawal, user: User) -> str:
    """Why `user` may not approve this withdrawal now, or '' if they may."""
    if not user.has_perm("brokerage.change_payments"):
        return "Only finance staff may approve withdrawals."
    if withdrawal.status not in (Withdrawal.Status.REQUESTED, Withdrawal.Status.APPROVED):
        return f"This withdrawal is {withdrawal.get_status_display().lower()}."
    if user.pk in (withdrawal.requested_by_id, withdrawal.client.user_id):
        return "You requested this withdrawal, so other finance staff must approve it."
    if any(a.approver_id == user.pk for a in withdrawal.approvals.all()):
        return "You already approved this withdrawal; a second, different person must approve it."
    return ""


def next_approvers(*, withdrawal: Withdrawal, staff: list[User] | None = None) -> list[User]:
    """Who may give the next approval: finance staff other than the requester, the client and
    whoever already approved."""
    if withdrawal.status not in (Withdrawal.Status.REQUESTED, Withdrawal.Status.APPROVED):
        return []
    excluded = {withdrawal.requested_by_id, withdrawal.client.user_id}
    excluded |= {a.approver_id for a in withdrawal.approvals.all()}
    people = adjustment_approvers() if staff is None else staff
    return [u for u in people if u.pk not in excluded]


@dataclass(frozen=True)
class Age:
    delta: timedelta
    flag: str  # "", "warn" (over a day), "bad" (over three days)

    @property
    def text(self) -> str:
        hours = int(self.delta.total_seconds() // 3600)
        if hours < 1:
            return f"{int(self.delta.total_seconds() // 60)} min"
        if hours < 48:
            return f"{hours} h"
        return f"{hours // 24} days"


def withdrawal_age(withdrawal: Withdrawal, now: datetime | None = None) -> Age:
    end = withdrawal.closed_at or now or timezone.now()
    delta = end - withdrawal.requested_at
    flag = ""
    if withdrawal.is_open:
        flag = "bad" if delta > timedelta(days=3) else "warn" if delta > timedelta(days=1) else ""
    return Age(delta=delta, flag=flag)


def withdrawals_waiting() -> dict[str, Any]:
    """How many withdrawals wait for an approval, and since when (the payments hub's card)."""
    return Withdrawal.objects.filter(
        status__in=[Withdrawal.Status.REQUESTED, Withdrawal.Status.APPROVED]
    ).aggregate(count=Count("pk"), oldest=Min("requested_at"))
