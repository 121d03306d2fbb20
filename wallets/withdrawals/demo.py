"""The demo brokerage's withdrawals (shared/DEMO.md): paid ones, pending ones of every age, one
awaiting the second approval (Felix approved, Fiona may approve next), one rejected with a
reason and one cancelled by the client. Idempotent: each is found by its request token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from schwifty import IBAN

from brokerage.models import User
from clients.models import Client
from wallets.selectors import wallet_available
from wallets.withdrawals import selectors
from wallets.withdrawals.models import Withdrawal
from wallets.withdrawals.services import (
    Destination,
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_mark_paid,
    withdrawal_reject,
    withdrawal_request,
)

FINANCE = "finance@meridian.test"
FINANCE2 = "finance2@meridian.test"
TOKEN_PREFIX = "demo-wd-"  # noqa: S105 (a request token prefix, not a secret)


@dataclass(frozen=True)
class Spec:
    token: str
    amount: str
    currency: str
    age: timedelta
    approvers: tuple[str, ...] = ()
    outcome: str = ""  # "", "paid", "rejected", "cancelled"
    note: str = ""


SPECS = [
    Spec("demo-wd-1", "250.00", "USD", timedelta(days=9), (FINANCE,), "paid", "SEPA-DEMO-0001"),
    Spec(
        "demo-wd-2",
        "1200.00",
        "USD",
        timedelta(days=6),
        (FINANCE, FINANCE2),
        "paid",
        "SEPA-DEMO-0002",
    ),
    Spec("demo-wd-3", "1800.00", "USD", timedelta(hours=30), (FINANCE,)),  # awaits the second
    Spec("demo-wd-4", "300.00", "USD", timedelta(hours=2)),
    Spec("demo-wd-5", "150.00", "EUR", timedelta(days=4)),  # flagged: waiting over three days
    Spec(
        "demo-wd-6",
        "400.00",
        "USD",
        timedelta(days=3),
        (),
        "rejected",
        "The bank account is in another person's name; we pay out only to your own account.",
    ),
    Spec("demo-wd-7", "100.00", "USD", timedelta(days=2), (), "cancelled"),
]


def _client_for(spec: Spec, used: set[int]) -> Client | None:
    """A fully verified demo trader with the money for this withdrawal (richest first), not
    already given one by this seed."""
    candidates = Client.objects.filter(
        user__email__endswith="@traders.meridian.test", kyc_case__level=2
    ).select_related("user")
    ranked = sorted(
        (c for c in candidates if c.pk not in used),
        key=lambda c: (-wallet_available(client=c, currency=spec.currency), c.pk),
    )
    return next(
        (
            c
            for c in ranked
            if wallet_available(client=c, currency=spec.currency) >= Decimal(spec.amount)
        ),
        None,
    )


def _destination(client: Client, currency: str, n: int) -> tuple[Destination, Decimal | None]:
    """Back to the card where the closed loop says so (capped at what it is owed), else a bank
    account in the client's name."""
    dues = selectors.closed_loop_dues(client=client, currency=currency)
    if dues:
        return Destination(kind=Withdrawal.Destination.METHOD, method=dues[0].method), dues[0].due
    iban = IBAN.generate("DE", bank_code="37040044", account_code=f"{5320130 + n:010d}")
    return (
        Destination(
            kind=Withdrawal.Destination.BANK, iban=iban.compact, bic="", holder=client.name
        ),
        None,
    )


def seed() -> None:
    staff = {u.email: u for u in User.objects.filter(email__in=[FINANCE, FINANCE2])}
    if len(staff) < 2:
        return  # seed_demo makes them first
    used = set(
        Withdrawal.objects.filter(request_token__startswith=TOKEN_PREFIX).values_list(
            "client_id", flat=True
        )
    )
    now = timezone.now()
    for n, spec in enumerate(SPECS, start=1):
        if Withdrawal.objects.filter(request_token=spec.token).exists():
            continue
        client = _client_for(spec, used)
        if client is None:
            continue
        used.add(client.pk)
        destination, cap = _destination(client, spec.currency, n)
        amount = Decimal(spec.amount) if cap is None else min(Decimal(spec.amount), cap)
        withdrawal = withdrawal_request(
            client=client,
            actor=client.user,
            amount=amount,
            currency=spec.currency,
            destination=destination,
            token=spec.token,
        ).withdrawal
        for email in spec.approvers:
            withdrawal_approve(withdrawal_id=withdrawal.pk, actor=staff[email], note="Demo.")
        if spec.outcome == "paid":
            withdrawal_mark_paid(
                withdrawal_id=withdrawal.pk, actor=staff[FINANCE2], reference=spec.note
            )
        elif spec.outcome == "rejected":
            withdrawal_reject(withdrawal_id=withdrawal.pk, actor=staff[FINANCE], reason=spec.note)
        elif spec.outcome == "cancelled":
            withdrawal_cancel(withdrawal_id=withdrawal.pk, client=client, actor=client.user)
        withdrawal.refresh_from_db()
        # Spread the story back in time: requested `age` ago, each later step an hour apart.
        requested = now - spec.age
        Withdrawal.objects.filter(pk=withdrawal.pk).update(requested_at=requested)
        for step, transition in enumerate(withdrawal.transitions.order_by("id")):
            transition.at = requested + timedelta(hours=step)
            transition.save(update_fields=["at"])
        for step, approval in enumerate(withdrawal.approvals.order_by("id"), start=1):
            approval.decided_at = requested + timedelta(hours=step)
            approval.save(update_fields=["decided_at"])
        if not withdrawal.is_open:
            Withdrawal.objects.filter(pk=withdrawal.pk).update(
                closed_at=requested + timedelta(hours=withdrawal.transitions.count() - 1)
            )
