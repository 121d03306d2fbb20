"""Deposits through payment providers: the methods a brokerage offers, and each deposit's
life from the client's request to the provider's final word.

The ledger is the truth about money; a Deposit is the story around it (who, which provider,
which of the provider's ids, what state). A succeeded deposit points at the journal that
credited the wallet; that journal's idempotency key is the provider and its transaction id,
so a webhook delivered twice credits once.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def _money(**options: object) -> models.DecimalField:
    return models.DecimalField(max_digits=24, decimal_places=8, **options)  # type: ignore[arg-type]


class PaymentMethod(models.Model):
    """One way to pay in (and, where the provider allows, back out), as the broker set it up.
    Provider credentials are not stored here: they come from the environment (settings)."""

    class Provider(models.TextChoices):
        DEMO = "demo", "Demo provider (bundled)"
        STRIPE = "stripe", "Stripe"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(
        max_length=80, help_text="What the client sees, e.g. 'Card (Visa, Mastercard)'"
    )
    provider = models.CharField(max_length=16, choices=Provider)
    currencies = ArrayField(models.CharField(max_length=8), help_text="ISO codes this method takes")
    min_amount = _money(default=Decimal("10"), validators=[MinValueValidator(Decimal("0"))])
    max_amount = _money(default=Decimal("10000"), validators=[MinValueValidator(Decimal("0"))])
    fee_fixed = _money(default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    fee_percent = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Percent of the amount, e.g. 2.5",
    )
    kyc_level = models.PositiveSmallIntegerField(
        default=1, help_text="The KYC level a client needs to use this method"
    )
    deposits_enabled = models.BooleanField(default=True)
    # Closed loop: money that came in through this method goes back out through it (card
    # refunds/payouts), up to what came in; the rest goes to a bank account.
    closed_loop = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sort_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__lte=models.F("max_amount")),
                name="payment_method_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Deposit(models.Model):
    """created -> pending -> succeeded | failed | expired; succeeded -> refunded | charged_back."""

    class Status(models.TextChoices):
        CREATED = "created", "Created"
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Credited"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        REFUNDED = "refunded", "Refunded"
        CHARGED_BACK = "charged_back", "Charged back"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.CREATED: frozenset(
            {Status.PENDING, Status.SUCCEEDED, Status.FAILED, Status.EXPIRED}
        ),
        Status.PENDING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.EXPIRED}),
        Status.SUCCEEDED: frozenset({Status.REFUNDED, Status.CHARGED_BACK}),
        Status.FAILED: frozenset(),
        Status.EXPIRED: frozenset(),
        Status.REFUNDED: frozenset(),
        Status.CHARGED_BACK: frozenset(),
    }

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="deposits")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="deposits")
    provider = models.CharField(max_length=16, choices=PaymentMethod.Provider)
    amount = _money(help_text="What the client pays")
    currency = models.CharField(max_length=8)
    fee = _money(default=Decimal("0"), help_text="Kept by the broker; the wallet gets amount - fee")
    status = models.CharField(max_length=16, choices=Status, default=Status.CREATED)
    # The provider's id for this payment (Stripe: the Checkout Session id), once known.
    provider_ref = models.CharField(max_length=255, blank=True)
    # The provider's id of the money movement behind it (Stripe: the PaymentIntent), which
    # refunds and disputes name instead of the session.
    payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    # Where the client goes to pay (the provider's hosted page).
    redirect_url = models.URLField(max_length=2000, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    # wallets.Journal ids (no FK across the ledger's walls; the ledger checks its own).
    credit_journal_id = models.BigIntegerField(null=True, blank=True)
    reversal_journal_id = models.BigIntegerField(null=True, blank=True)
    # A staff refund's hold on the wallet (the latest one): reserves the money while the
    # provider is asked; released right before the reversal, or voided if it refuses.
    refund_hold_journal_id = models.BigIntegerField(null=True, blank=True)
    # A refund or chargeback the wallet could no longer cover (the client had spent it):
    # booked to the house's manual adjustments account for finance to recover.
    shortfall = _money(default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["client", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive"),
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(fee__lt=models.F("amount")), name="deposit_fee_in_range"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=~Q(provider_ref=""),
                name="deposit_provider_ref_once",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["succeeded", "refunded", "charged_back"])
                | Q(credit_journal_id__isnull=False),
                name="deposit_credited_has_journal",
            ),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.pk}: {self.amount} {self.currency} ({self.status})"

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.fee


class PaymentEvent(models.Model):
    """Every webhook delivery as received (raw body kept), deduplicated on the provider's
    event id: the record of what the provider told us and when."""

    provider = models.CharField(max_length=16, choices=PaymentMethod.Provider)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=80)
    deposit = models.ForeignKey(
        Deposit, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    payload = models.TextField(help_text="The body exactly as delivered")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payment_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"
