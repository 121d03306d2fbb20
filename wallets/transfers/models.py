"""A client's transfer between their wallet and one of their live trading accounts.

Wallet -> account: the amount is held in the ledger (wallet -> the account's mirror) first,
then a balance operation goes to the trading server, then the hold is posted (DONE) or voided
(refused). Account -> wallet: nothing moves in the ledger until the server has taken the
money off the account; then mirror -> wallet is posted. A lost reply leaves it UNKNOWN until
the resolver has looked the operation up on the server (never re-sent blind)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Transfer(models.Model):
    class Direction(models.TextChoices):
        TO_ACCOUNT = "to_account", "Wallet to trading account"
        TO_WALLET = "to_wallet", "Trading account to wallet"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        SENT = "sent", "Sent to the trading server"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Checking with the trading server"

    # The one place the state machine is written down: status -> where it may go next.
    TRANSITIONS: dict[str, set[str]] = {
        Status.REQUESTED: {Status.SENT, Status.DONE, Status.FAILED, Status.UNKNOWN},
        Status.SENT: {Status.SENT, Status.DONE, Status.FAILED, Status.UNKNOWN},
        Status.UNKNOWN: {Status.UNKNOWN, Status.DONE, Status.FAILED},
        Status.DONE: set(),
        Status.FAILED: set(),
    }
    IN_FLIGHT = (Status.REQUESTED, Status.SENT, Status.UNKNOWN)

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="transfers")
    # The confirmation form's token: a double submit finds the first transfer.
    key = models.CharField(max_length=64)
    direction = models.CharField(max_length=10, choices=Direction)
    account = models.ForeignKey(
        "clients.TradingAccount", on_delete=models.PROTECT, related_name="transfers"
    )
    currency = models.ForeignKey("wallets.Currency", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    status = models.CharField(max_length=10, choices=Status, default=Status.REQUESTED)
    balance_op = models.OneToOneField(
        "clients.BalanceOperation", on_delete=models.PROTECT, related_name="transfer"
    )
    hold_journal = models.ForeignKey(
        "wallets.Journal", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    post_journal = models.ForeignKey(
        "wallets.Journal", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_journal = models.ForeignKey(
        "wallets.Journal", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True, help_text="Why it failed, in words for the client")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="transfer_once_per_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            # To an account the wallet money is held first; from one, nothing is held.
            models.CheckConstraint(
                condition=Q(direction="to_account", hold_journal__isnull=False)
                | Q(direction="to_wallet", hold_journal__isnull=True),
                name="transfer_hold_matches_direction",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(post_journal__isnull=False),
                name="transfer_done_is_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"Transfer {self.pk}: {self.amount} {self.currency_id} {self.direction}"

    @property
    def in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT

    @property
    def from_label(self) -> str:
        return "Wallet" if self.direction == self.Direction.TO_ACCOUNT else self.account_label

    @property
    def to_label(self) -> str:
        return self.account_label if self.direction == self.Direction.TO_ACCOUNT else "Wallet"

    @property
    def account_label(self) -> str:
        return f"MT5 #{self.account.login}"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]
