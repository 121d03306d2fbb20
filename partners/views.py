from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, partner_view
from partners.selectors import partner_list


@partner_view
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, "partners/dashboard.html", {"partner": request.user.partner})


@backoffice_view("view_partners")
def backoffice_partner_list(request: HttpRequest) -> HttpResponse:
    return render(request, "partners/backoffice_list.html", {"partners": partner_list()})
