from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from brokerage.csv_export import csv_cell, csv_response
from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from kyc.policy import LEVEL_NAMES, NEXT_STEPS, client_level, kyc_may
from wallets.ledger.services import currency_exponent
from wallets.payments import selectors
from wallets.payments.exceptions import PaymentError
from wallets.payments.forms import DepositFilterForm, DepositForm, PaymentMethodForm
from wallets.payments.models import Deposit
from wallets.payments.providers import UnknownProvider, provider_get
from wallets.payments.providers.base import EventKind, WebhookError
from wallets.payments.providers.demo import demo_callback
from wallets.payments.services import (
    OPEN_STATES,
    deposit_create,
    deposit_quote,
    deposit_refund,
    deposit_webhook_receive,
    payment_method_save,
)

log = logging.getLogger(__name__)
PAGE_SIZE = 25


def _fragment(request: HttpRequest, template: str, name: str) -> str:
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return f"{template}#{name}"
    return template


# --- webhooks -------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's signed webhook: verify over the raw bytes, then store the event and act
    on it in one short transaction. 400 unreadable, 401 forged, 503 not configured."""
    try:
        backend = provider_get(provider)
    except UnknownProvider:
        raise Http404("No such payment provider.") from None
    body = request.body
    try:
        event = backend.parse_webhook(body=body, headers=request.headers)
    except WebhookError as exc:
        log.warning("payments: %s webhook refused (%s): %s", provider, exc.status, exc.message)
        return JsonResponse({"ok": False, "error": exc.message}, status=exc.status)
    outcome = deposit_webhook_receive(provider=backend.name, event=event, body=body)
    return JsonResponse({"ok": True, "duplicate": outcome.duplicate, "status": outcome.status})


# --- the demo provider's hosted page --------------------------------------------------------

DEMO_ACTIONS = {
    "success": EventKind.SUCCEEDED,
    "decline": EventKind.FAILED,
    "pending": EventKind.PENDING,
}


def _deliver_demo_callback(body: bytes, headers: dict[str, str]) -> HttpResponse:
    """Hand the demo's signed callback to /webhooks/demo-pay/ as a provider's POST would
    arrive: same URL resolution, same view, same verification. In-process, so it works
    offline and under any server (a request to ourselves could deadlock a one-worker one)."""
    path = reverse("payments:webhook-demo")
    request = HttpRequest()
    request.method = "POST"
    request.path = request.path_info = path
    request._body = body  # type: ignore[attr-defined]
    request.META = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": headers.get("Content-Type", "application/json"),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    }
    match = resolve(path)
    response: HttpResponse = match.func(request, *match.args, **match.kwargs)
    return response


def demo_page(request: HttpRequest, ref: str) -> HttpResponseBase:
    """The demo provider's hosted payment page. The random reference in the URL is the
    capability, as on a real provider's page; it shows the amount and nothing about the
    client."""
    deposit = get_object_or_404(
        Deposit.objects.select_related("method"), provider="demo", provider_ref=ref
    )
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in DEMO_ACTIONS:
            return HttpResponseBadRequest("Unknown action.")
        if deposit.status in OPEN_STATES:
            reason = "Declined by the card issuer (demo)." if action == "decline" else ""
            body, headers = demo_callback(deposit=deposit, kind=DEMO_ACTIONS[action], reason=reason)
            response = _deliver_demo_callback(body, headers)
            if response.status_code != 200:
                error = f"The shop did not accept the callback ({response.status_code})."
        if not error:
            return redirect("payments:deposit", pk=deposit.pk)
    return render(
        request,
        "payments/demo_page.html",
        {"deposit": deposit, "open": deposit.status in OPEN_STATES, "error": error},
    )


# --- the trader's room ---------------------------------------------------------------------


@portal_view
def deposit_new(request: AuthedHttpRequest) -> HttpResponse:
    client = request.user.client
    verdict = kyc_may(client=client, action="deposit")
    methods = selectors.methods_for_client(client=client)
    form = DepositForm(
        request.POST or None,
        methods=methods,
        initial={"currency": request.GET.get("currency", "USD")},
    )
    quote = None
    error = ""
    if request.method == "POST" and verdict.allowed and form.is_valid():
        data = form.cleaned_data
        try:
            if "confirm" in request.POST:
                deposit = deposit_create(
                    client=client,
                    method=data["method"],
                    currency=data["currency"],
                    amount=data["amount"],
                )
                return redirect(deposit.redirect_url)
            quote = deposit_quote(
                client=client,
                method=data["method"],
                currency=data["currency"],
                amount=data["amount"],
            )
        except PaymentError as exc:
            if exc.field:
                form.add_error(exc.field, exc.message)
            else:
                error = exc.message
    level = client_level(client=client)
    return render(
        request,
        "payments/deposit_new.html",
        {
            "form": form,
            "quote": quote,
            "error": error,
            "verdict": verdict,
            "methods": methods,
            "level": level,
            "level_name": LEVEL_NAMES.get(level, ""),
            "next_steps": verdict.next_steps or NEXT_STEPS.get(level, []),
        },
    )


@portal_view
@vary_on_headers("HX-Request")
def deposit_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    deposit = selectors.deposit_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        _fragment(request, "payments/deposit_detail.html", "status"),
        {"deposit": deposit, "open": deposit.status in OPEN_STATES},
    )


@portal_view
def deposit_list(request: AuthedHttpRequest) -> HttpResponse:
    deposits = selectors.deposit_list_for_client(client=request.user.client)
    page = Paginator(deposits, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "payments/deposit_list.html", {"page": page})


# --- back-office ----------------------------------------------------------------------------


def _filters(form: DepositFilterForm) -> selectors.DepositFilters:
    if not form.is_valid():
        return selectors.DepositFilters()
    d = form.cleaned_data
    return selectors.DepositFilters(
        status=d.get("status") or "",
        provider=d.get("provider") or "",
        client=d.get("client") or "",
        min_amount=d.get("min_amount"),
        max_amount=d.get("max_amount"),
        start=d.get("start"),
        end=d.get("end"),
    )


def _exact(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def _deposits_csv(deposits: Any) -> HttpResponseBase:
    def rows() -> Iterator[list[Any]]:
        for d in deposits.iterator(chunk_size=2000):
            yield [
                d.pk,
                d.created_at.isoformat(timespec="seconds"),
                d.client_id,
                csv_cell(d.client.user.email),
                csv_cell(d.method.name),
                d.provider,
                csv_cell(d.provider_ref),
                d.get_status_display(),
                str(_exact(d.amount, d.currency)),
                str(_exact(d.fee, d.currency)),
                str(_exact(d.net_amount, d.currency)),
                d.currency,
                d.credited_at.isoformat(timespec="seconds") if d.credited_at else "",
                d.credit_journal_id or "",
                csv_cell(d.failure_reason),
            ]

    header = ["Deposit", "Created (UTC)", "Client", "E-mail", "Method", "Provider",
              "Provider ref", "Status", "Amount", "Fee", "Net", "Currency", "Credited (UTC)",
              "Journal", "Reason"]  # fmt: skip
    return csv_response(header=header, rows=rows(), filename="deposits.csv")


@backoffice_view("view_payments")
@vary_on_headers("HX-Request")
def backoffice_deposits(request: AuthedHttpRequest) -> HttpResponseBase:
    form = DepositFilterForm(request.GET or None)
    filters = _filters(form)
    deposits = selectors.deposit_list(filters=filters)
    if request.GET.get("format") == "csv":
        return _deposits_csv(deposits)
    page = Paginator(deposits, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        (d, (now - d.created_at) if d.status in OPEN_STATES else None) for d in page.object_list
    ]
    return render(
        request,
        _fragment(request, "payments/backoffice_deposits.html", "results"),
        {
            "form": form,
            "page": page,
            "rows": rows,
            "filtered": any(v for v in filters.__dict__.values()),
            "csv_query": request.GET.urlencode(),
        },
    )


@backoffice_view("view_payments")
def backoffice_deposit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    deposit = selectors.deposit_get(pk=pk)
    can_refund = request.user.has_perm("brokerage.change_payments")
    error = ""
    if request.method == "POST":
        if not can_refund:
            raise PermissionDenied("Only finance staff may refund deposits.")
        try:
            deposit_refund(deposit_id=deposit.pk, actor=request.user)
        except PaymentError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                f"Deposit #{deposit.pk} refunded: {deposit.amount.normalize():f} "
                f"{deposit.currency} goes back to the client's card.",
            )
            return redirect("payments:backoffice-deposit", pk=deposit.pk)
    provider = provider_get(deposit.provider)
    return render(
        request,
        "payments/backoffice_deposit.html",
        {
            "deposit": deposit,
            "events": selectors.deposit_events(deposit=deposit),
            "can_refund": can_refund
            and deposit.status == Deposit.Status.SUCCEEDED
            and provider.supports_refund,
            "error": error,
        },
    )


@backoffice_view("view_payments")
def methods(request: AuthedHttpRequest) -> HttpResponse:
    items = [(m, provider_get(m.provider).is_configured()) for m in selectors.method_list()]
    return render(request, "payments/methods.html", {"items": items})


@backoffice_view("change_payments")
def method_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    method = selectors.method_get(pk=pk)
    form = PaymentMethodForm(request.POST or None, instance=method)
    if request.method == "POST" and form.is_valid():
        try:
            payment_method_save(method=form.save(commit=False), actor=request.user)
        except PaymentError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{method.name} saved.")
            return redirect("payments:methods")
    return render(request, "payments/method_form.html", {"form": form, "method": method})
