from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from brokerage.models import User
from wallets.ledger.selectors import ledger_violations
from wallets.ledger.services import ledger_expire_holds

log = logging.getLogger(__name__)


@shared_task(name="wallets.tasks.expire_holds", ignore_result=True)
def expire_holds() -> int:
    """Void holds past their expiry; the next run picks up what a limit left."""
    return ledger_expire_holds()


@shared_task(name="wallets.tasks.ledger_check", ignore_result=True)
def ledger_check() -> int:
    """The nightly proof that the books hold; any broken invariant alerts finance and admins."""
    violations = ledger_violations()
    if not violations:
        log.info("ledger_check: every invariant holds")
        return 0
    lines = [f"- {name}: {len(rows)} row(s), e.g. {rows[0]}" for name, rows in violations.items()]
    log.error("ledger_check found %d broken invariant(s):\n%s", len(violations), "\n".join(lines))
    recipients = list(
        User.objects.filter(is_active=True, is_staff=True, groups__name__in=["finance", "admin"])
        .values_list("email", flat=True)
        .distinct()
    )
    if recipients:
        send_mail(
            subject=f"[{settings.BROKER_NAME}] Ledger check FAILED: {len(violations)} invariant(s)",
            message="The nightly ledger check found:\n\n"
            + "\n".join(lines)
            + "\n\nRun `python manage.py ledger_check` for the full list.",
            from_email=None,
            recipient_list=recipients,
        )
    return len(violations)
