from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from clients.selectors import client_list_for_user
from kyc.documents.models import Document, DocumentAccess


def document_list_for_client(*, client: Client) -> QuerySet[Document]:
    """A client's own documents, newest first."""
    return Document.objects.filter(client=client)


def document_get_for_client(*, client: Client, pk: int) -> Document:
    # 404 for anyone else's document: don't leak that it exists.
    return get_object_or_404(Document.objects.select_related("client__user"), pk=pk, client=client)


def document_list_for_staff(*, user: User) -> QuerySet[Document]:
    """Documents of the clients the staff member may see (their book, or all)."""
    return Document.objects.filter(client__in=client_list_for_user(user=user)).select_related(
        "client__user"
    )


def document_get_for_staff(*, user: User, pk: int) -> Document:
    return get_object_or_404(document_list_for_staff(user=user), pk=pk)


def document_access_list(*, document: Document) -> QuerySet[DocumentAccess]:
    return DocumentAccess.objects.filter(document=document).select_related("user")


def document_expiring_list(
    *, within_days: int | None = None, today: dt.date | None = None
) -> QuerySet[Document]:
    """Identity documents in use (uploaded or accepted) that expire within `within_days`
    (default KYC_EXPIRY_NOTICE_DAYS, 30) from today, or have already expired."""
    days = settings.KYC_EXPIRY_NOTICE_DAYS if within_days is None else within_days
    today = today or timezone.localdate()
    return (
        Document.objects.filter(
            kind__in=Document.IDENTITY_KINDS,
            status__in=[Document.Status.UPLOADED, Document.Status.ACCEPTED],
            expires_on__isnull=False,
            expires_on__lte=today + dt.timedelta(days=days),
        )
        .select_related("client__user")
        .order_by("expires_on", "pk")
    )
