from __future__ import annotations

from django.conf import settings
from django.db import models

from kyc.documents.storage import private_storage, random_name


class Document(models.Model):
    """A client's identity or address document, as stored after the upload checks (the
    sanitised file only; the original bytes are never kept, only their SHA-256)."""

    class Kind(models.TextChoices):
        PASSPORT = "passport", "Passport"
        ID_CARD = "id_card", "Identity card"
        DRIVING_LICENCE = "driving_licence", "Driving licence"
        PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
        SELFIE = "selfie", "Selfie"
        OTHER = "other", "Other"

    class Side(models.TextChoices):
        FRONT = "front", "Front"
        BACK = "back", "Back"
        NONE = "none", "—"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    class FileType(models.TextChoices):
        JPEG = "jpeg", "JPEG image"
        PNG = "png", "PNG image"
        HEIC = "heic", "HEIC image"
        PDF = "pdf", "PDF"

    class MrzStatus(models.TextChoices):
        NOT_APPLICABLE = "n/a", "Not applicable"
        PENDING = "pending", "Waiting to be read"
        VALID = "valid", "Read, check digits valid"
        INVALID = "invalid", "Read, check digits wrong"
        NOT_FOUND = "not_found", "No machine-readable zone found"
        FAILED = "failed", "Could not be read (OCR error)"

    IDENTITY_KINDS = (Kind.PASSPORT, Kind.ID_CARD, Kind.DRIVING_LICENCE)
    MRZ_KINDS = (Kind.PASSPORT, Kind.ID_CARD)

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="kyc_documents"
    )
    kind = models.CharField(max_length=20, choices=Kind)
    side = models.CharField(max_length=8, choices=Side, default=Side.NONE)
    file = models.FileField(storage=private_storage, upload_to=random_name, max_length=200)
    original_sha256 = models.CharField(max_length=64)
    sanitised_sha256 = models.CharField(max_length=64)
    # What the bytes are (sniffed), which is also what the stored file is after re-encoding
    # (HEIC is stored as JPEG; detected_type keeps what the client sent).
    detected_type = models.CharField(max_length=8, choices=FileType)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(help_text="bytes of the stored (sanitised) file")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status, default=Status.UPLOADED)
    uploaded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Why it was rejected (shown to the client), or a note on the acceptance.
    review_note = models.TextField(blank=True)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, db_index=True)
    expiry_notice_sent_at = models.DateTimeField(null=True, blank=True)
    # The machine-readable zone: what was read, whether its check digits hold, and where it
    # disagrees with what the client told us.
    mrz_status = models.CharField(
        max_length=10, choices=MrzStatus, default=MrzStatus.NOT_APPLICABLE
    )
    mrz_fields = models.JSONField(default=dict, blank=True)
    mrz_checks = models.JSONField(default=dict, blank=True)
    mrz_mismatches = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        indexes = [models.Index(fields=["client", "-uploaded_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} of client {self.client_id}"

    @property
    def is_image(self) -> bool:
        return self.detected_type != self.FileType.PDF

    @property
    def status_class(self) -> str:
        """The label style of the status (UI.md: one style per state)."""
        return {
            self.Status.UPLOADED: "status-warn",
            self.Status.ACCEPTED: "status-ok",
            self.Status.REJECTED: "status-bad",
        }.get(self.Status(self.status), "")

    @property
    def download_name(self) -> str:
        extension = (self.file.name or "").rsplit(".", 1)[-1]
        return f"{self.kind}-{self.pk}.{extension}"


class DocumentAccess(models.Model):
    """Who opened which document, when, from where: every read of a file is logged."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        DOWNLOAD = "download", "Downloaded"

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=8, choices=Action)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return (
            f"{self.user_id} {self.action} document {self.document_id} at {self.at:%Y-%m-%d %H:%M}"
        )
