from __future__ import annotations

from django.db.models import QuerySet

from kyc.providers.models import WebhookEvent


def webhook_event_list(*, provider: str = "", outcome: str = "") -> QuerySet[WebhookEvent]:
    """Newest first, for the back-office; the raw body is left unloaded (it can be large
    and, for Shufti, holds personal data and document links)."""
    events = WebhookEvent.objects.select_related("client__user").defer("raw_body", "headers")
    if provider:
        events = events.filter(provider=provider)
    if outcome:
        events = events.filter(outcome=outcome)
    return events.order_by("-received_at", "-pk")
