from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerage.permissions import backoffice_view


@backoffice_view("view_reports")
def report_list(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/report_list.html")
