from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerage.permissions import backoffice_view, portal_view


@portal_view
def wallet_list(request: HttpRequest) -> HttpResponse:
    return render(request, "wallets/wallet_list.html")


@backoffice_view("view_payments")
def payments(request: HttpRequest) -> HttpResponse:
    return render(request, "wallets/payments.html")
