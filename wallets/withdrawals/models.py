"""Withdrawals: a client asks for money back, the amount is held in the ledger at once, finance
approves (two different people above a threshold), then confirms the payout.

The ledger is the truth about money; a Withdrawal is the story around it. Its hold is a pending
journal (client wallet -> withdrawals in transit) that never expires on its own: it is posted
when finance confirms the payout, or voided on a rejection, a cancellation or a failed payout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from brokerage.models import User


def _money(**options: object) -> models.DecimalField:
    return models.DecimalField(max_digits=24, decimal_places=8, **options)  # type: ignore[arg-type]


class TransitionError(Exception):
    """A move the state machine doesn't allow (a programming error or a stale page)."""


@pghistory.track()
class Withdrawal(models.Model):
    """requested -> approved (first of two approvals) -> approved_fully -> paid;
    requested | approved -> rejected; requested -> cancelled (by the client);
    approved_fully -> failed (the payout bounced) or rejected."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        APPROVED = "approved", "Waiting for a second approval"
        APPROVED_FULLY = "approved_fully", "Approved, paying out"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Payout failed"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.REQUESTED: frozenset(
            {Status.APPROVED, Status.APPROVED_FULLY, Status.REJECTED, Status.CANCELLED}
        ),
        Status.APPROVED: frozenset({Status.APPROVED_FULLY, Status.REJECTED}),
        Status.APPROVED_FULLY: frozenset({Status.PAID, Status.FAILED, Status.REJECTED}),
        Status.PAID: frozenset(),
        Status.REJECTED: frozenset(),
        Status.CANCELLED: frozenset(),
        Status.FAILED: frozenset(),
    }
    OPEN = (Status.REQUESTED, Status.APPROVED, Status.APPROVED_FULLY)
    # Statuses whose money left or is on its way out: they count against the daily limit.
    COUNTED = (Status.REQUESTED, Status.APPROVED, Status.APPROVED_FULLY, Status.PAID)
    TONE: dict[str, str] = {
        Status.REQUESTED: "warn",
        Status.APPROVED: "warn",
        Status.APPROVED_FULLY: "ok",
        Status.PAID: "ok",
        Status.REJECTED: "bad",
        Status.CANCELLED: "neutral",
        Status.FAILED: "bad",
    }

    class Destination(models.TextChoices):
        METHOD = "method", "Back to the deposit method"
        BANK = "bank", "Bank account"

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="withdrawals"
    )
    amount = _money()
    currency = models.CharField(max_length=8)
    destination = models.CharField(max_length=8, choices=Destination)
    method = models.ForeignKey(
        "payments.PaymentMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="withdrawals",
    )
    iban = models.CharField(max_length=34, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    account_holder = models.CharField(max_length=140, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.REQUESTED)
    # 1 or 2, fixed when requested (the threshold then in force), so the queue and the client
    # see the same rule the whole way.
    approvals_required = models.PositiveSmallIntegerField(default=1)
    # The client's (or form's) token: a double submit finds the first request.
    request_token = models.CharField(max_length=64)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # wallets.Journal ids (no FK across the ledger's walls): the hold, and what resolved it
    # (the post when paid, the void when rejected / cancelled / failed), and the payout that
    # cleared withdrawals-in-transit.
    hold_journal_id = models.BigIntegerField(null=True, blank=True, unique=True)
    resolution_journal_id = models.BigIntegerField(null=True, blank=True)
    payout_journal_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Why rejected or failed")
    payout_reference = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["client", "-requested_at"]),
            models.Index(fields=["status", "requested_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_positive"),
            models.CheckConstraint(
                condition=Q(destination="method", method__isnull=False, iban="")
                | Q(destination="bank", method__isnull=True) & ~Q(iban=""),
                name="withdrawal_destination_consistent",
            ),
            models.CheckConstraint(
                condition=Q(approvals_required__in=[1, 2]), name="withdrawal_approvals_1_or_2"
            ),
            models.UniqueConstraint(
                fields=["client", "request_token"], name="withdrawal_token_once"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid")
                | Q(resolution_journal_id__isnull=False) & ~Q(payout_reference=""),
                name="withdrawal_paid_is_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"Withdrawal #{self.pk}: {self.amount} {self.currency} ({self.status})"

    @property
    def tone(self) -> str:
        return self.TONE.get(self.status, "neutral")

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def destination_text(self) -> str:
        if self.destination == self.Destination.METHOD and self.method is not None:
            return str(self.method.name)
        return f"{iban_display(self.iban)} ({self.account_holder})"

    def move(self, to: str, *, actor: User | None, note: str = "") -> WithdrawalTransition:
        """The one way a status changes: checks the transitions map, saves, records history.
        The caller holds the row lock (select_for_update) and does the money work."""
        if to not in self.TRANSITIONS[self.status]:
            raise TransitionError(f"A withdrawal can't go from {self.status} to {to}.")
        previous = self.status
        self.status = to
        if to not in self.OPEN:
            self.closed_at = timezone.now()
        self.save()
        return WithdrawalTransition.objects.create(
            withdrawal=self,
            from_status=previous,
            to_status=to,
            actor=actor,
            note=note,
        )


def iban_display(iban: str) -> str:
    """DE89 3704 0044 0532 0130 00: groups of four, as printed on bank statements."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


@pghistory.track()
class WithdrawalApproval(models.Model):
    """One person's approval. The database refuses the same person approving twice."""

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["withdrawal", "approver"], name="withdrawal_approver_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Approval of withdrawal {self.withdrawal_id} by {self.approver_id}"


class WithdrawalTransition(models.Model):
    """The timeline the client and finance read: each status change, who, when and why."""

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=Withdrawal.Status, blank=True)
    to_status = models.CharField(max_length=16, choices=Withdrawal.Status)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.withdrawal_id}: {self.from_status} -> {self.to_status}"
