from __future__ import annotations

import uuid

from django.db import models


def _new_reference() -> str:
    return uuid.uuid4().hex


class ProviderApplicant(models.Model):
    """One client as known to one KYC provider.

    `external_id` is ours: a random reference we hand to the provider (Sumsub's
    externalUserId, Shufti Pro's request reference), so the provider never sees our
    primary keys and every webhook maps back to exactly one client. `applicant_id` is
    the provider's own id, learnt from its first answer or webhook.
    """

    provider = models.CharField(max_length=32)
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="kyc_provider_applicants"
    )
    external_id = models.CharField(max_length=64, default=_new_reference)
    applicant_id = models.CharField(max_length=128, blank=True)
    level_name = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The high-water mark of processed events: an event created before it is stale.
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_state = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="kyc_provider_applicant_external_id"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "applicant_id"]),
            models.Index(fields=["client", "provider", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id}"


class WebhookEvent(models.Model):
    """A provider's webhook exactly as it arrived (after its signature was checked)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        STALE = "stale", "Stale (older than the last processed event)"
        UNKNOWN_CLIENT = "unknown_client", "Unknown client reference"
        IGNORED = "ignored", "Ignored (carries no verdict)"
        INVALID = "invalid", "Invalid payload"
        FAILED = "failed", "Failed (will be retried)"

    provider = models.CharField(max_length=32)
    event_type = models.CharField(max_length=64, blank=True)
    dedupe_key = models.CharField(max_length=512)
    # The bytes that were signed: kept as they came, never re-serialised.
    raw_body = models.BinaryField()
    headers = models.JSONField(default=dict)
    external_ref = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    client = models.ForeignKey(
        "clients.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="kyc_webhook_events",
    )
    applicant = models.ForeignKey(
        ProviderApplicant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome, default=Outcome.PENDING)
    state = models.CharField(max_length=32, blank=True, help_text="our case state it mapped to")
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "dedupe_key"], name="kyc_webhook_event_dedupe"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "-received_at"]),
            models.Index(fields=["outcome", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} #{self.pk}"

    @property
    def body_text(self) -> str:
        return bytes(self.raw_body).decode("utf-8", errors="replace")
