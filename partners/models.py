from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models


@pghistory.track()
class Partner(models.Model):
    """An introducing broker (IB) or affiliate. The IB tree, referral links and commission
    plans build on this (see the partners issue)."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="partner"
    )
    name = models.CharField(max_length=200, help_text="Trading name shown to clients")
    status = models.CharField(max_length=16, choices=Status, default=Status.APPLIED)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The master IB this IB works under, if any",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED
