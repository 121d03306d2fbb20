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


class PartnerPath(models.Model):
    """The IB tree as a closure table: one row per (ancestor, descendant) pair, including each
    IB with itself at depth 0. "All ancestors" and "all descendants" are one indexed query, and
    the commission run joins it set-based. Written only by partners.services (tree moves)."""

    ancestor = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="descendant_paths")
    descendant = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="ancestor_paths")
    depth = models.PositiveSmallIntegerField(help_text="0 = itself, 1 = direct parent, ...")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["descendant", "ancestor"], name="partner_path_once"),
            models.UniqueConstraint(
                fields=["descendant", "depth"], name="partner_path_one_per_depth"
            ),
        ]
        indexes = [models.Index(fields=["ancestor", "depth"])]

    def __str__(self) -> str:
        return f"{self.ancestor_id} -> {self.descendant_id} ({self.depth})"


class Attribution(models.Model):
    """Which IB a client belongs to, from when. A client has at most one current attribution
    (valid_to is null); a reassignment closes it and opens the next, effective from a date, so
    commissions on earlier deals keep going to the earlier IB unless staff say otherwise."""

    class Source(models.TextChoices):
        LINK = "link", "Referral link"
        CODE = "code", "Code typed at sign-up"
        STAFF = "staff", "Assigned by staff"

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="attributions"
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="attributions")
    source = models.CharField(max_length=8, choices=Source)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "-valid_from"]
        indexes = [models.Index(fields=["partner", "valid_from"])]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(valid_to__isnull=True),
                name="attribution_one_current_per_client",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gt=models.F("valid_from")),
                name="attribution_range_forward",
            ),
        ]

    def __str__(self) -> str:
        return f"client {self.client_id} -> IB {self.partner_id} from {self.valid_from:%Y-%m-%d}"
