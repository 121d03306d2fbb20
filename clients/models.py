from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models


@pghistory.track()
class Client(models.Model):
    """A person who trades with the broker (or signed up to). One per User."""

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        ACTIVE = "active", "Active"
        DORMANT = "dormant", "Dormant"
        CLOSED = "closed", "Closed"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="client"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.REGISTERED)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    phone = models.CharField(max_length=32, blank=True)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_clients",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["assigned_agent", "-created_at"])]

    def __str__(self) -> str:
        return self.user.get_full_name()

    @property
    def name(self) -> str:
        return self.user.get_full_name()
