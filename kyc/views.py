from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerage.permissions import backoffice_view, portal_view


@portal_view
def verification(request: HttpRequest) -> HttpResponse:
    return render(request, "kyc/verification.html")


@backoffice_view("view_kyc")
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "kyc/queue.html")
