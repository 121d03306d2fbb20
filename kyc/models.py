"""The verification case: one per client, an explicit state machine, every move recorded.

The parts report into it (kyc.hooks): documents (kyc.documents), screening (kyc.screening),
provider verdicts (kyc.providers). What a client may do follows from the case's level and
from open AML cases (kyc.policy).
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CaseState(models.TextChoices):
    DOCS_REQUESTED = "docs_requested", "Documents requested"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    APPROVED = "approved", "Approved"
    RESUBMIT = "resubmit", "Resubmission needed"
    REJECTED = "rejected", "Rejected"
    SCREENING_HOLD = "screening_hold", "Screening hold"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


# Where a case may go from each state. One map, one door (kyc.services.case_move).
TRANSITIONS: dict[str, set[str]] = {
    CaseState.DOCS_REQUESTED: {
        CaseState.SUBMITTED,
        CaseState.UNDER_REVIEW,
        CaseState.SCREENING_HOLD,
        CaseState.EXPIRED,
        CaseState.CANCELLED,
        CaseState.REJECTED,
    },
    CaseState.SUBMITTED: {
        CaseState.UNDER_REVIEW,
        CaseState.APPROVED,
        CaseState.RESUBMIT,
        CaseState.REJECTED,
        CaseState.SCREENING_HOLD,
        CaseState.DOCS_REQUESTED,
    },
    CaseState.UNDER_REVIEW: {
        CaseState.APPROVED,
        CaseState.RESUBMIT,
        CaseState.REJECTED,
        CaseState.SCREENING_HOLD,
        CaseState.SUBMITTED,
        CaseState.DOCS_REQUESTED,
    },
    CaseState.RESUBMIT: {
        CaseState.SUBMITTED,
        CaseState.UNDER_REVIEW,
        CaseState.SCREENING_HOLD,
        CaseState.REJECTED,
        CaseState.EXPIRED,
        CaseState.CANCELLED,
    },
    # An approved client can be asked again (expired document, new information) or held.
    CaseState.APPROVED: {
        CaseState.DOCS_REQUESTED,
        CaseState.UNDER_REVIEW,
        CaseState.SCREENING_HOLD,
        CaseState.REJECTED,
    },
    CaseState.SCREENING_HOLD: {
        CaseState.UNDER_REVIEW,
        CaseState.APPROVED,
        CaseState.REJECTED,
    },
    CaseState.REJECTED: {CaseState.DOCS_REQUESTED},  # reopened by staff, with a reason
    CaseState.EXPIRED: {CaseState.DOCS_REQUESTED, CaseState.SUBMITTED},
    CaseState.CANCELLED: {CaseState.DOCS_REQUESTED, CaseState.SUBMITTED},
}

# The states that wait on the broker's staff, in the compliance queue.
WAITING_ON_STAFF = (CaseState.SUBMITTED, CaseState.UNDER_REVIEW, CaseState.SCREENING_HOLD)


class Reason(models.TextChoices):
    """Why staff approve, reject or ask again: chosen from a list, plus free text."""

    DOCUMENTS_OK = "documents_ok", "Documents and data verified"
    DOCUMENT_UNREADABLE = "document_unreadable", "Document unreadable or cut off"
    DOCUMENT_EXPIRED = "document_expired", "Document expired"
    NAME_MISMATCH = "name_mismatch", "Name does not match the account"
    DOB_MISMATCH = "dob_mismatch", "Date of birth does not match"
    ADDRESS_PROOF_OLD = "address_proof_old", "Proof of address older than 3 months"
    ADDRESS_PROOF_MISSING = "address_proof_missing", "Proof of address missing"
    SUSPECTED_FORGERY = "suspected_forgery", "Suspected forged or altered document"
    SANCTIONS_MATCH = "sanctions_match", "Confirmed sanctions match"
    SCREENING_CLEARED = "screening_cleared", "Screening alert reviewed: not the same person"
    PROHIBITED_COUNTRY = "prohibited_country", "Resident of a country we do not serve"
    UNDERAGE = "underage", "Under 18"
    DUPLICATE_ACCOUNT = "duplicate_account", "Duplicate account"
    PROVIDER = "provider", "Verification provider's decision"
    OTHER = "other", "Other (explained in the note)"


@pghistory.track()
class KycCase(models.Model):
    client = models.OneToOneField(
        "clients.Client", on_delete=models.PROTECT, related_name="kyc_case"
    )
    state = models.CharField(
        max_length=20, choices=CaseState, default=CaseState.DOCS_REQUESTED, db_index=True
    )
    # The verification level reached: 0 registered, 1 identity verified, 2 identity, address
    # and screening clear. Kept when a case is reopened until a decision changes it.
    level = models.PositiveSmallIntegerField(default=0)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="kyc_cases",
        limit_choices_to={"is_staff": True},
    )
    opened_at = models.DateTimeField(default=timezone.now)
    # Since when the case is in its state: the queue's ageing.
    state_since = models.DateTimeField(default=timezone.now, db_index=True)
    # What the client is told to do next, shown in the portal and sent by e-mail.
    client_message = models.TextField(blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["state_since"]
        constraints = [
            models.CheckConstraint(condition=Q(level__lte=2), name="kyc_case_level_0_to_2"),
        ]

    def __str__(self) -> str:
        return f"KYC case of {self.client} ({self.get_state_display()})"

    @property
    def waiting_on_staff(self) -> bool:
        return self.state in WAITING_ON_STAFF


class CaseTransition(models.Model):
    """Every move of a case: who, when, why. Never edited."""

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        CLIENT = "client", "Client"
        PROVIDER = "provider", "Provider"
        SYSTEM = "system", "System"

    case = models.ForeignKey(KycCase, on_delete=models.PROTECT, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=CaseState)
    to_state = models.CharField(max_length=20, choices=CaseState)
    source = models.CharField(max_length=10, choices=Source)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    reason = models.CharField(max_length=32, choices=Reason, blank=True)
    note = models.TextField(blank=True)
    level = models.PositiveSmallIntegerField(default=0)  # the case's level after the move
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


@pghistory.track()
class AmlCase(models.Model):
    """A possible match or a red flag that a compliance officer (the MLRO) must decide.
    While one that freezes is open, the client can't deposit or trade (kyc.policy)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLEARED = "cleared", "Cleared: false positive"
        CONFIRMED = "confirmed", "Confirmed"

    class Source(models.TextChoices):
        SCREENING = "screening", "Sanctions / PEP screening"
        PROVIDER = "provider", "Verification provider"
        MONITORING = "monitoring", "Transaction monitoring"
        STAFF = "staff", "Staff"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="aml_cases")
    source = models.CharField(max_length=12, choices=Source)
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN, db_index=True)
    freezes = models.BooleanField(default=False, help_text="blocks deposits and trading while open")
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    # What raised it (a screening result's id, a webhook event's id), so a repeat does not
    # open a second case for the same thing.
    reference = models.CharField(max_length=100)
    opened_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "source", "reference"], name="aml_case_once_per_cause"
            ),
            models.CheckConstraint(
                condition=Q(status="open", decided_by__isnull=True)
                | Q(~Q(status="open"), decided_by__isnull=False, decided_at__isnull=False),
                name="aml_case_decided_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"AML case #{self.pk}: {self.summary}"
