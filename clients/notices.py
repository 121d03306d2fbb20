"""Telling a client something happened: one portal notice per cause, and an e-mail sent after
the surrounding transaction commits (a rolled-back payment never e-mails)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clients.models import Client, Notice

log = logging.getLogger(__name__)


def notify(
    *,
    client: Client,
    key: str,
    subject: str,
    body: str = "",
    link: str = "",
    level: str = Notice.Level.INFO,
    email: bool = True,
) -> Notice:
    """Record the notice (idempotent on `key`) and e-mail it once, after commit."""
    notice, created = Notice.objects.get_or_create(
        client=client,
        key=key[:120],
        defaults={"subject": subject[:200], "body": body, "link": link[:300], "level": level},
    )
    if created and email and client.user.email:
        address = client.user.email
        text = body + (f"\n\n{settings.SITE_URL.rstrip('/')}{link}" if link else "")

        def send() -> None:
            try:
                send_mail(subject, text, None, [address])
            except Exception:  # the notice stands in the portal; e-mail is best effort
                log.exception("notice e-mail %s to client %s not sent", key, client.pk)

        transaction.on_commit(send)
    return notice


def notices_for_client(*, client: Client, unread_only: bool = False) -> QuerySet[Notice]:
    notices = Notice.objects.filter(client=client)
    return notices.filter(read_at=None) if unread_only else notices


def notices_mark_read(*, client: Client) -> int:
    return Notice.objects.filter(client=client, read_at=None).update(read_at=timezone.now())
