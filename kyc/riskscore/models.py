"""Client risk score: the country-risk table (versioned), one immutable assessment per run, the
senior sign-off a high-risk client needs, and the alerts the behaviour rules raise."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q


class CountryRiskVersion(models.Model):
    """One published state of the country lists (e.g. after a FATF plenary). A new version is
    loaded beside the old ones; an assessment keeps pointing at the version it used."""

    name = models.CharField(max_length=100, unique=True, help_text='e.g. "FATF June 2026"')
    effective_date = models.DateField()
    source_notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "-id"]
        constraints = [
            # At most one active version; the services switch it in one transaction, and the
            # seed migration makes one, so there is always exactly one.
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="country_risk_one_active"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CountryRisk(models.TextChoices):
    PROHIBITED = "prohibited", "FATF call for action (prohibited)"
    FATF_GREY = "fatf_grey", "FATF increased monitoring (grey list)"
    EU_HIGH_RISK = "eu_high_risk", "EU high-risk third country"


class CountryRiskEntry(models.Model):
    version = models.ForeignKey(
        CountryRiskVersion, on_delete=models.CASCADE, related_name="entries"
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    category = models.CharField(max_length=16, choices=CountryRisk)
    points = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["country", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "country", "category"], name="country_risk_entry_once"
            ),
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"), name="country_risk_entry_iso2"
            ),
        ]
        triggers = [
            # A published version is history: correct it by loading a new version.
            pgtrigger.Protect(name="country_risk_entry_append_only", operation=pgtrigger.Update)
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.category} ({self.points})"


class Band(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class ClientRiskAssessment(models.Model):
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="risk_assessments"
    )
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=8, choices=Band)
    # Flags that override the score: a prohibited country, a sanctions hit to freeze.
    prohibited = models.BooleanField(default=False)
    freeze = models.BooleanField(default=False)
    # [{"code": "pep", "points": 40, "reason": "Foreign politically exposed person"}, ...]
    factors = models.JSONField(default=list)
    inputs = models.JSONField(default=dict)
    country_version = models.ForeignKey(
        CountryRiskVersion, on_delete=models.PROTECT, related_name="assessments"
    )
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system ran it (screening, a periodic review).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    next_review_on = models.DateField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(band="high") | Q(prohibited=False, freeze=False),
                name="risk_assessment_flags_are_high",
            )
        ]
        triggers = [
            # An assessment is evidence of what we knew then: never edited, never deleted.
            pgtrigger.Protect(
                name="risk_assessment_immutable", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"Risk {self.score} ({self.band}) for client {self.client_id}"

    @property
    def needs_approval(self) -> bool:
        return self.band == Band.HIGH


class RiskApproval(models.Model):
    """The senior decision a high-risk assessment needs: compliance or an admin, never the
    person who ran the assessment."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        DECLINE = "decline", "Declined"

    assessment = models.OneToOneField(
        ClientRiskAssessment, on_delete=models.PROTECT, related_name="approval"
    )
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=Decision)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(maker__isnull=True) | ~Q(approved_by=F("maker")),
                name="risk_approval_maker_is_not_checker",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="risk_approval_has_reason"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="risk_approval_immutable", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            # Maker-checker against the assessment itself, whatever `maker` a bug might write.
            pgtrigger.Trigger(
                name="risk_approval_maker_matches",
                operation=pgtrigger.Insert,
                when=pgtrigger.Before,
                func="""
                    IF EXISTS (
                        SELECT 1 FROM kyc_risk_clientriskassessment a
                         WHERE a.id = NEW.assessment_id
                           AND a.assessed_by_id IS NOT DISTINCT FROM NEW.maker_id
                    ) THEN
                        RETURN NEW;
                    END IF;
                    RAISE EXCEPTION 'risk approval: maker must be who ran the assessment'
                        USING ERRCODE = 'check_violation';
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} assessment {self.assessment_id}"


class MonitoringAlert(models.Model):
    class Rule(models.TextChoices):
        R1 = "R1", "R1 deposit then withdrawal without trading"
        R2 = "R2", "R2 structuring"
        R4 = "R4", "R4 identifier shared across clients"
        R7 = "R7", "R7 dormant account suddenly funded"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        ESCALATED = "escalated", "Escalated"

    rule = models.CharField(max_length=4, choices=Rule)
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="monitoring_alerts"
    )
    # What makes this alert the same alert on a rerun (e.g. "R7:journal:812").
    dedupe_key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    amount = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    currency = models.CharField(max_length=10, blank=True)
    summary = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["client", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start__lte=F("window_end")), name="alert_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status="open", decided_by__isnull=True)
                | (~Q(status="open") & Q(decided_by__isnull=False) & ~Q(decision_note="")),
                name="alert_decision_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} for client {self.client_id}: {self.summary}"
