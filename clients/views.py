from __future__ import annotations

import logging
from datetime import UTC
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.vary import vary_on_headers

from brokerage.csv_export import csv_response
from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from clients import trading_selectors
from clients.exceptions import ClientError
from clients.forms import DealFilterForm, OpenAccountForm, ResyncForm, TradingProductForm
from clients.models import Client, Deal, TradingProduct, TradingServer
from clients.notices import notices_for_client, notices_mark_read
from clients.platforms.base import PlatformError
from clients.selectors import (
    client_get_for_user,
    client_list_for_user,
    client_money,
    portal_overview,
)
from clients.tasks import rescan_range
from clients.trading_services import trading_account_open
from kyc.selectors import kyc_summary
from wallets.selectors import recent_statement_rows

log = logging.getLogger(__name__)


@portal_view
def portal_home(request: AuthedHttpRequest) -> HttpResponse:
    client = request.user.client
    if request.method == "POST" and request.POST.get("notices") == "read":
        notices_mark_read(client=client)
        return redirect("clients:portal-home")
    return render(
        request,
        "clients/portal_home.html",
        {
            "client": client,
            "overview": portal_overview(client=client),
            "recent": recent_statement_rows(client=client),
            "notices": list(notices_for_client(client=client, unread_only=True)[:5]),
            "actions": _home_actions(),
        },
    )


def _home_actions() -> list[dict[str, str]]:
    """One tap to each everyday money action (the first is the primary one)."""
    actions = [
        ("Deposit", "payments:deposit-new"),
        ("Withdraw", "withdrawals:withdraw"),
        ("Transfer", "transfers:new"),
        ("Open account", "clients:portal-open-account"),
    ]
    return [
        {"label": label, "url": reverse(name), "style": "" if i == 0 else "secondary outline"}
        for i, (label, name) in enumerate(actions)
    ]


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
        {
            "client": client,
            "kyc": kyc_summary(client=client),
            "money": client_money(client=client)
            if request.user.has_perm("brokerage.view_payments")
            else None,
        },
    )


# --- trading accounts in the portal ----------------------------------------------------------


@portal_view
def portal_accounts(request: AuthedHttpRequest) -> HttpResponse:
    cards = trading_selectors.accounts_for_client(client=request.user.client)
    return render(request, "clients/portal_accounts.html", {"cards": cards})


@portal_view
@vary_on_headers("HX-Request")
def portal_history(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    account = trading_selectors.account_for_client(client=request.user.client, pk=pk)
    symbols = trading_selectors.deal_symbols(account=account)
    form = DealFilterForm(request.GET or None, symbols=symbols)
    data = form.cleaned_data if form.is_valid() else {}
    deals = trading_selectors.deal_history(
        account=account,
        since=data.get("since"),
        until=data.get("until"),
        symbol=data.get("symbol") or "",
    )
    if request.GET.get("format") == "csv":
        return _deals_csv(deals, f"trades-{account.login}.csv")
    page = Paginator(deals, 25).get_page(request.GET.get("page"))
    template = "clients/portal_history.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(
        request,
        template,
        {
            "account": account,
            "form": form,
            "page": page,
            "query": request.GET.urlencode(),
        },
    )


def _deals_csv(deals: QuerySet[Deal], filename: str) -> StreamingHttpResponse:
    cents = Decimal("0.01")
    rows = (
        [
            deal.time.isoformat(timespec="seconds"),
            deal.ticket,
            deal.action_label,
            deal.entry_label,
            deal.symbol,
            str(deal.lots),
            str(deal.price.normalize()),
            str(deal.profit.quantize(cents)),
            str(deal.swap.quantize(cents)),
            str(deal.commission.quantize(cents)),
            str(deal.fee.quantize(cents)),
            deal.position_id,
        ]
        for deal in deals.iterator(chunk_size=2000)
    )
    header = ["Time (UTC)", "Ticket", "Type", "Entry", "Symbol", "Lots", "Price", "Profit",
              "Swap", "Commission", "Fee", "Position"]  # fmt: skip
    return csv_response(header=header, rows=rows, filename=filename)


# --- trading servers in the back-office ------------------------------------------------------


@backoffice_view("view_trading")
def trading_health(request: AuthedHttpRequest) -> HttpResponse:
    can_resync = request.user.has_perm("brokerage.change_trading")
    form = ResyncForm(request.POST or None)
    if request.method == "POST":
        if not can_resync:
            raise PermissionDenied("Only the dealing desk may re-sync a trading server.")
        if form.is_valid():
            server = get_object_or_404(TradingServer, pk=form.cleaned_data["server"])
            since = form.cleaned_data["since"].astimezone(UTC)
            until = form.cleaned_data["until"].astimezone(UTC)
            rescan_range.apply_async(
                args=[server.pk, since.isoformat(), until.isoformat()], queue="platform"
            )
            messages.success(
                request,
                f"Re-sync of {server.name} from {since:%Y-%m-%d %H:%M} to "
                f"{until:%Y-%m-%d %H:%M} UTC queued; it shows below when it has run.",
            )
            return redirect("clients:trading-health")
    return render(
        request,
        "clients/trading_health.html",
        {
            "servers": trading_selectors.server_health(),
            "chart": trading_selectors.deals_written_chart(),
            "form": form,
            "can_resync": can_resync,
        },
    )


# --- opening a trading account ----------------------------------------------------------------


@portal_view
@vary_on_headers("HX-Request")
def portal_open_account(request: AuthedHttpRequest) -> HttpResponse:
    """Choose a product and a leverage; on success the MT5 passwords are shown in this one
    response and nowhere else (not stored, not in the session, not cached)."""
    client = request.user.client
    offers = trading_selectors.product_offers(client=client)
    products = [o.product for o in offers]
    initial = {"product": request.GET.get("product") or (products[0].pk if products else "")}
    form = OpenAccountForm(request.POST or None, products=products, initial=initial)
    if request.htmx and request.method == "GET" and not request.htmx.history_restore_request:
        # Another product picked: only its leverage choices.
        return render(
            request,
            "clients/portal_open_account.html#leverage",
            {"form": OpenAccountForm(request.GET, products=products)},
        )
    blocked = None
    if request.method == "POST" and form.is_valid():
        offer = next(o for o in offers if o.product.pk == form.cleaned_data["product"])
        if not offer.verdict.allowed:
            blocked = offer
            form.add_error("product", offer.verdict.reason)
        else:
            try:
                opened = trading_account_open(
                    client=client, product=offer.product, leverage=form.cleaned_data["leverage"]
                )
            except ClientError as exc:
                form.add_error(None, exc.message)
            except PlatformError:
                log.exception("opening a %s account for client %s failed", offer.product, client.pk)
                form.add_error(
                    None,
                    "The trading server did not answer, so no account was opened. "
                    "Try again in a few minutes.",
                )
            else:
                response = render(
                    request,
                    "clients/portal_account_opened.html",
                    {"opened": opened, "product": offer.product},
                )
                add_never_cache_headers(response)
                response["Cache-Control"] = "no-store, private"
                return response
    return render(
        request,
        "clients/portal_open_account.html",
        {"form": form, "offers": offers, "blocked": blocked},
    )


# --- trading products in the back-office -------------------------------------------------------


@backoffice_view("view_trading")
def trading_products(request: AuthedHttpRequest) -> HttpResponse:
    return render(
        request,
        "clients/trading_products.html",
        {
            "products": trading_selectors.product_list(),
            "can_edit": request.user.has_perm("brokerage.change_trading"),
        },
    )


@backoffice_view("change_trading")
def trading_product_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    product = get_object_or_404(TradingProduct, pk=pk) if pk else None
    form = TradingProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"{saved.name} saved.")
        return redirect("clients:trading-products")
    return render(request, "clients/trading_product_form.html", {"form": form, "product": product})
