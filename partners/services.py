from __future__ import annotations

from django.db import transaction

from brokerage.models import User
from partners.models import Partner


@transaction.atomic
def partner_register(
    *, user: User, name: str, approved: bool = False, parent: Partner | None = None
) -> Partner:
    """Create (or return) the partner profile of a user (idempotent)."""
    status = Partner.Status.APPROVED if approved else Partner.Status.APPLIED
    partner, _ = Partner.objects.get_or_create(
        user=user, defaults={"name": name, "status": status, "parent": parent}
    )
    return partner
