from __future__ import annotations

from django.db.models import QuerySet

from partners.models import Partner


def partner_count() -> int:
    return Partner.objects.filter(status=Partner.Status.APPROVED).count()


def partner_list() -> QuerySet[Partner]:
    return Partner.objects.select_related("user")
