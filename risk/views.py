from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerage.permissions import backoffice_view


@backoffice_view("view_risk")
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "risk/overview.html")
