from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from clients.models import Client
from clients.selectors import client_get_for_user, client_list_for_user
from kyc.selectors import kyc_summary
from wallets.selectors import recent_statement_rows, wallet_overview


@portal_view
def portal_home(request: AuthedHttpRequest) -> HttpResponse:
    client = request.user.client
    return render(
        request,
        "clients/portal_home.html",
        {
            "client": client,
            "overview": wallet_overview(client=client),
            "recent": recent_statement_rows(client=client),
        },
    )


@backoffice_view("view_clients")
@vary_on_headers("HX-Request")
def client_list(request: AuthedHttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in Client.Status.values:
        status = ""
    clients = client_list_for_user(user=request.user, search=search, status=status)
    page = Paginator(clients, 25).get_page(request.GET.get("page"))
    template = "clients/client_list.html"
    # A history restore wants the whole page, not the fragment (htmx sends HX-Request then).
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(
        request,
        template,
        {"page": page, "search": search, "status": status, "statuses": Client.Status.choices},
    )


@backoffice_view("view_clients")
def client_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    client = client_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "clients/client_detail.html",
        {"client": client, "kyc": kyc_summary(client=client)},
    )
