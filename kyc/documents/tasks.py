from __future__ import annotations

from celery import shared_task

from kyc.documents.models import Document
from kyc.documents.services import document_expiry_reminders_send, document_read_mrz


@shared_task(name="kyc.documents.tasks.read_mrz", ignore_result=True, acks_late=True)
def read_mrz(document_id: int) -> str:
    """OCR of a passport or ID card photo; safe to run twice (it only overwrites the reading)."""
    document = Document.objects.select_related("client__user").get(pk=document_id)
    return document_read_mrz(document=document).mrz_status


@shared_task(name="kyc.documents.tasks.expiry_reminders", ignore_result=True)
def expiry_reminders() -> int:
    """Daily (beat): ask clients for a new identity document before theirs expires."""
    return document_expiry_reminders_send()
