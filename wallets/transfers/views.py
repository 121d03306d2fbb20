from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from wallets.transfers import selectors
from wallets.transfers.exceptions import TransferError
from wallets.transfers.forms import TransferForm
from wallets.transfers.services import (
    TOKEN_MAX_AGE,
    Offer,
    transfer_offer,
    transfer_submit,
    transfer_token_sign,
)


@portal_view
def transfer_new(request: AuthedHttpRequest) -> HttpResponse:
    client = request.user.client
    places = selectors.transfer_places(client=client)
    initial = {
        "source": request.GET.get("from", ""),
        "target": request.GET.get("to", ""),
        "amount": request.GET.get("amount", ""),
    }
    form = TransferForm(request.POST or None, places=places, initial=initial)
    offer: Offer | None = None
    token = ""
    notice = ""
    if request.method == "POST":
        if "confirm" in request.POST:
            try:
                transfer, created = transfer_submit(
                    client=client, token=request.POST.get("token", ""), actor=request.user
                )
            except TransferError as exc:
                if exc.field and exc.field in form.fields:
                    form.is_valid()
                    form.add_error(exc.field, exc.message)
                else:
                    notice = exc.message
            else:
                if not created:
                    messages.info(request, "This transfer was already submitted; here it is.")
                return redirect("transfers:detail", pk=transfer.pk)
        if not form.errors and form.is_valid():
            data = form.cleaned_data
            try:
                offer = transfer_offer(
                    client=client,
                    direction=data["direction"],
                    account_id=data["account"].pk,
                    amount=data["amount"],
                )
            except TransferError as exc:
                if exc.field in form.fields:
                    form.add_error(exc.field, exc.message)
                else:
                    form.add_error(None, exc.message)
            else:
                token = transfer_token_sign(client=client, offer=offer)
    return render(
        request,
        "transfers/transfer_new.html",
        {
            "form": form,
            "offer": offer,
            "token": token,
            "notice": notice,
            "has_accounts": any(p.account for p in places),
            "confirm_minutes": TOKEN_MAX_AGE // 60,
        },
    )


@portal_view
@vary_on_headers("HX-Request")
def transfer_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    transfer = selectors.transfer_get_for_user(user=request.user, pk=pk)
    template = "transfers/transfer_detail.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#status"
    return render(request, template, {"transfer": transfer})


@portal_view
def transfer_list(request: AuthedHttpRequest) -> HttpResponse:
    transfers = selectors.transfer_list_for_client(client=request.user.client)
    page = Paginator(transfers, 25).get_page(request.GET.get("page"))
    return render(request, "transfers/transfer_list.html", {"page": page})


BACKOFFICE_FILTERS = [
    ("in_flight", "In flight"),
    ("failed", "Failed"),
    ("done", "Done"),
    ("", "All"),
]


@backoffice_view("view_payments")
def transfer_backoffice_list(request: AuthedHttpRequest) -> HttpResponse:
    status = request.GET.get("status", "in_flight")
    if status not in {value for value, _ in BACKOFFICE_FILTERS}:
        status = "in_flight"
    transfers = selectors.transfer_list_backoffice(status=status)
    page = Paginator(transfers, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "transfers/backoffice_list.html",
        {"page": page, "status": status, "filters": BACKOFFICE_FILTERS, "now": timezone.now()},
    )
