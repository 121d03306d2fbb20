from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from kyc import hooks
from kyc.documents import ocr
from kyc.documents.exceptions import DocumentError
from kyc.documents.models import Document, DocumentAccess
from kyc.documents.selectors import document_expiring_list
from kyc.documents.uploads import sanitise

log = logging.getLogger(__name__)


def document_upload(
    *,
    client: Client,
    kind: str,
    side: str,
    upload: UploadedFile,
    uploaded_by: User,
    issued_on: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> Document:
    """Check and clean the file (UploadRefused with the reason if it fails), store it under a
    random name in the private storage, and report it to the KYC case. An earlier document of
    the same kind and side that nobody reviewed yet is superseded by this one."""
    clean = sanitise(upload=upload)
    reads_mrz = kind in Document.MRZ_KINDS and clean.detected_type != Document.FileType.PDF
    document = Document(
        client=client,
        kind=kind,
        side=side,
        original_sha256=clean.original_sha256,
        sanitised_sha256=clean.sanitised_sha256,
        detected_type=clean.detected_type,
        content_type=clean.content_type,
        size=len(clean.content),
        width=clean.width,
        height=clean.height,
        page_count=clean.page_count,
        uploaded_by=uploaded_by,
        issued_on=issued_on,
        expires_on=expires_on,
        mrz_status=Document.MrzStatus.PENDING if reads_mrz else Document.MrzStatus.NOT_APPLICABLE,
    )
    # The file is written first (the row needs its name); if the transaction fails, the file
    # is removed so that no bytes outlive a refused or failed upload.
    document.file.save(f"document.{clean.extension}", ContentFile(clean.content), save=False)
    try:
        with transaction.atomic():
            Document.objects.filter(
                client=client, kind=kind, side=side, status=Document.Status.UPLOADED
            ).update(status=Document.Status.SUPERSEDED)
            document.save()
            hooks.document_uploaded(document=document)
            if reads_mrz:
                transaction.on_commit(lambda: _enqueue_mrz_reading(document.pk))
    except BaseException:
        if document.file.name:
            document.file.storage.delete(document.file.name)
        raise
    return document


def _enqueue_mrz_reading(document_id: int) -> None:
    from kyc.documents.tasks import read_mrz

    try:
        read_mrz.delay(document_id)
    except Exception:
        # The document is stored and the client told; a broker outage must not turn that
        # into an error page. The reading stays "pending" for the reviewer to see.
        log.exception("could not enqueue the MRZ reading of document %s", document_id)


def document_read_mrz(*, document: Document) -> Document:
    """Read the machine-readable zone of a passport or ID card photo, validate it, and note
    where it disagrees with the client's profile. Prefills the expiry date when the zone's
    own check digit vouches for it. Slow (OCR): called from the read_mrz task."""
    with document.file.open("rb") as stored:
        data = stored.read()
    try:
        reading = ocr.read_document(data)
    except ocr.OcrUnavailable:
        log.exception("MRZ reading of document %s failed", document.pk)
        document.mrz_status = Document.MrzStatus.FAILED
        document.save(update_fields=["mrz_status"])
        return document
    if reading is None:
        document.mrz_status = Document.MrzStatus.NOT_FOUND
        document.mrz_fields, document.mrz_checks, document.mrz_mismatches = {}, {}, []
        document.save(update_fields=["mrz_status", "mrz_fields", "mrz_checks", "mrz_mismatches"])
        return document
    from kyc.documents import mrz

    user = document.client.user
    document.mrz_fields = reading.fields()
    document.mrz_checks = reading.checks
    document.mrz_mismatches = mrz.mismatches(
        reading,
        first_name=user.first_name,
        last_name=user.last_name,
        country=document.client.country,
    )
    document.mrz_status = Document.MrzStatus.VALID if reading.valid else Document.MrzStatus.INVALID
    fields = ["mrz_status", "mrz_fields", "mrz_checks", "mrz_mismatches"]
    if document.expires_on is None and reading.expires_on and reading.checks["expires_on"]:
        document.expires_on = dt.date.fromisoformat(reading.expires_on)
        fields.append("expires_on")
    document.save(update_fields=fields)
    return document


def document_access_log(
    *, document: Document, user: User, action: str, ip: str | None
) -> DocumentAccess:
    return DocumentAccess.objects.create(document=document, user=user, action=action, ip=ip)


def document_expiry_reminders_send(*, today: dt.date | None = None) -> int:
    """E-mail each client whose identity document expires within the notice period, asking
    for a new one; once per document. Returns how many were sent."""
    sent = 0
    for document in document_expiring_list(today=today).filter(expiry_notice_sent_at=None):
        # Claim first (a conditional UPDATE), so that two overlapping runs mail only once.
        claimed = Document.objects.filter(pk=document.pk, expiry_notice_sent_at=None).update(
            expiry_notice_sent_at=timezone.now()
        )
        if not claimed:
            continue
        user = document.client.user
        expires = document.expires_on
        when = "has expired" if expires and expires < (today or timezone.localdate()) else "expires"
        try:
            send_mail(
                subject=f"[{settings.BROKER_NAME}] Your {document.get_kind_display().lower()} "
                f"{when} on {expires:%d %B %Y}",
                message=(
                    f"Dear {user.get_full_name() or user.email},\n\n"
                    f"The {document.get_kind_display().lower()} you gave us {when} on "
                    f"{expires:%d %B %Y}. To keep your account able to trade, deposit and "
                    "withdraw, please upload a new one in the trader's room under "
                    "Verification > Documents.\n\n"
                    f"{settings.BROKER_NAME}"
                ),
                from_email=None,
                recipient_list=[user.email],
            )
        except Exception:
            # Not sent: give the document back to the next run.
            Document.objects.filter(pk=document.pk).update(expiry_notice_sent_at=None)
            log.exception("expiry notice for document %s not sent", document.pk)
            continue
        sent += 1
    return sent


def document_review(*, document: Document, actor: User, decision: str, note: str = "") -> Document:
    """Accept or reject an uploaded document. A rejection needs a reason (the client reads
    it). Accepting supersedes the earlier accepted document of the same kind and side. The
    decision is claimed with a conditional UPDATE, so two reviewers can't both decide."""
    if decision not in (Document.Status.ACCEPTED, Document.Status.REJECTED):
        raise DocumentError("Choose to accept or reject the document.", field="decision")
    note = note.strip()
    if decision == Document.Status.REJECTED and not note:
        raise DocumentError(
            "Say why the document is rejected; the client reads this to send a better one.",
            field="note",
        )
    with transaction.atomic():
        claimed = Document.objects.filter(pk=document.pk, status=Document.Status.UPLOADED).update(
            status=decision, reviewed_by=actor, reviewed_at=timezone.now(), review_note=note
        )
        if not claimed:
            raise DocumentError("This document was already reviewed or replaced.")
        if decision == Document.Status.ACCEPTED:
            Document.objects.filter(
                client_id=document.client_id,
                kind=document.kind,
                side=document.side,
                status=Document.Status.ACCEPTED,
            ).exclude(pk=document.pk).update(status=Document.Status.SUPERSEDED)
    document.refresh_from_db()
    return document
