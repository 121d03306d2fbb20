from __future__ import annotations

import logging

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from brokerage.permissions import backoffice_view
from kyc.providers import selectors
from kyc.providers.base import WebhookError
from kyc.providers.models import WebhookEvent
from kyc.providers.registry import UnknownProvider, provider_get, provider_names
from kyc.providers.services import webhook_event_record

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's signed webhook: verify over the raw bytes, store, answer at once; the
    work happens in a Celery task (Sumsub gives up on an answer after 5 s)."""
    try:
        backend = provider_get(provider)
    except UnknownProvider:
        raise Http404("No such KYC provider.") from None
    body = request.body
    try:
        backend.verify_webhook(body=body, headers=request.headers)
        event, created = webhook_event_record(provider=backend, body=body, headers=request.headers)
    except WebhookError as exc:
        log.warning("kyc providers: %s webhook refused (%s): %s", provider, exc.status, exc.message)
        return JsonResponse({"ok": False, "error": exc.message}, status=exc.status)
    return JsonResponse({"ok": True, "duplicate": not created})


PAGE_SIZE = 50


@backoffice_view("view_kyc")
def events(request: HttpRequest) -> HttpResponse:
    """What the KYC providers told us lately, and what became of it."""
    provider = request.GET.get("provider", "")
    if provider not in provider_names():
        provider = ""
    outcome = request.GET.get("outcome", "")
    if outcome not in WebhookEvent.Outcome.values:
        outcome = ""
    items = selectors.webhook_event_list(provider=provider, outcome=outcome)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "kyc_providers/events.html",
        {
            "page": page,
            "provider": provider,
            "providers": provider_names(),
            "outcome": outcome,
            "outcomes": WebhookEvent.Outcome.choices,
        },
    )
